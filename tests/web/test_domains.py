"""The Domains section of the project settings page: add (with the record to create),
refused names with the reason, check again, remove; members see it without the forms."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from devpush.models import Domain
from tests.fixtures.web import CAROL, TwoTeams, log_in


def test_an_owner_adds_checks_and_removes_a_domain(
    client: TestClient, csrf: str, sessions: sessionmaker[Session]
) -> None:
    added = client.post(
        "/projects/shop/settings/domains",
        data={"csrf_token": csrf, "name": "www.Example.com", "environment": "production"},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    page = client.get("/projects/shop/settings").text
    section = page[page.index('<section id="domains">') :]
    assert "www.example.com" in section
    assert "www.example.com CNAME shop.localhost." in section
    assert "not checked yet" in section
    with sessions() as session:
        assert session.scalar(select(Domain.name)) == "www.example.com"

    refused = client.post(
        "/projects/shop/settings/domains", data={"csrf_token": csrf, "name": "10.0.0.1"}
    )
    assert refused.status_code == 422
    assert "is an IP address: give a domain name" in refused.text
    assert 'value="10.0.0.1"' in refused.text  # the form keeps what was typed

    base = "/projects/shop/settings/domains/www.example.com"
    checked = client.post(f"{base}/check", data={"csrf_token": csrf}, follow_redirects=False)
    assert checked.status_code == 303
    assert "checking again" in client.get("/projects/shop/settings").text
    removed = client.post(f"{base}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert removed.status_code == 303
    assert "No custom domains." in client.get("/projects/shop/settings").text


def test_a_name_of_another_team_is_refused_on_the_page(
    client: TestClient, two_teams: TwoTeams, csrf: str
) -> None:
    client.post("/projects/shop/settings/domains", data={"csrf_token": csrf, "name": "example.com"})
    client.post("/logout", data={"csrf_token": csrf})
    csrf = log_in(client, two_teams.bob.email)
    refused = client.post(
        "/projects/shop/settings/domains", data={"csrf_token": csrf, "name": "example.com"}
    )
    assert refused.status_code == 422
    assert "already used by another project on this server" in refused.text


def test_members_see_the_domains_without_the_forms(
    client: TestClient, csrf: str, carol: int
) -> None:
    client.post("/projects/shop/settings/domains", data={"csrf_token": csrf, "name": "example.com"})
    client.post("/logout", data={"csrf_token": csrf})
    csrf = log_in(client, CAROL)
    page = client.get("/projects/shop/settings").text
    section = page[
        page.index('<section id="domains">') : page.index(
            "</section>", page.index('<section id="domains">')
        )
    ]
    assert "example.com" in section and 'id="add-domain"' not in section
    removed = client.post(
        "/projects/shop/settings/domains/example.com/delete", data={"csrf_token": csrf}
    )
    assert removed.status_code == 403


def test_the_redirect_between_twins_is_chosen_on_the_page(
    client: TestClient, csrf: str, sessions: sessionmaker[Session]
) -> None:
    for name in ("example.com", "www.example.com"):
        client.post("/projects/shop/settings/domains", data={"csrf_token": csrf, "name": name})
    page = client.get("/projects/shop/settings").text
    assert "Redirect to example.com" in page and "Redirect to www.example.com" in page
    chose = client.post(
        "/projects/shop/settings/domains/www.example.com/redirect",
        data={"csrf_token": csrf, "redirect_to": "example.com"},
        follow_redirects=False,
    )
    assert chose.status_code == 303
    with sessions() as session:
        www = session.scalar(select(Domain).where(Domain.name == "www.example.com"))
        assert www is not None and www.redirect_to == "example.com"
    page = client.get("/projects/shop/settings").text
    assert "redirects to example.com" in page and "Serve it itself" in page
    assert "Redirect to www.example.com" not in page  # not both ways
    back = client.post(
        "/projects/shop/settings/domains/www.example.com/redirect",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert back.status_code == 303
    with sessions() as session:
        www = session.scalar(select(Domain).where(Domain.name == "www.example.com"))
        assert www is not None and www.redirect_to is None
