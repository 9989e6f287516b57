import re

from fastapi.testclient import TestClient


def test_create_use_and_revoke_a_token_in_the_ui(client: TestClient, csrf: str) -> None:
    page = client.post("/settings/tokens", data={"name": "laptop", "csrf_token": csrf})
    assert page.status_code == 200
    match = re.search(r'<code id="new-token">([^<]+)</code>', page.text)
    assert match, "the new token is shown once"
    token = match.group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/projects", headers=headers).status_code == 200
    # Listed afterwards by name and prefix only.
    listing = client.get("/settings/tokens").text
    assert "laptop" in listing
    assert token not in listing
    token_id = next(
        t["id"]
        for t in client.get("/api/v1/tokens", headers=headers).json()
        if t["name"] == "laptop"
    )
    response = client.post(
        f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/api/v1/projects", headers=headers).status_code == 401


def test_a_token_needs_a_name(client: TestClient, csrf: str) -> None:
    page = client.post("/settings/tokens", data={"name": "  ", "csrf_token": csrf})
    assert page.status_code == 422
    assert "a token needs a name" in page.text
    assert 'id="new-token"' not in page.text
