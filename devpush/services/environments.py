"""Environments of a project: production for the default branch, a preview per other branch."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from devpush.models import Environment, EnvironmentKind, Project

PRODUCTION_NAME = "production"


def ensure_production_environment(session: Session, *, project: Project) -> Environment:
    """The project's production environment, created on first use; it follows the default branch."""
    session.flush()  # a project just added gets its id here
    environment = session.scalar(
        select(Environment).where(
            Environment.project_id == project.id,
            Environment.kind == EnvironmentKind.PRODUCTION,
        )
    )
    if environment is None:
        environment = Environment(
            project=project,
            name=PRODUCTION_NAME,
            kind=EnvironmentKind.PRODUCTION,
            branch=project.default_branch,
        )
        session.add(environment)
        session.flush()
    elif environment.branch != project.default_branch:
        # The default branch was renamed: production follows it.
        environment.branch = project.default_branch
        session.flush()
    return environment


def environment_for_branch(session: Session, *, project: Project, branch: str) -> Environment:
    """Production for the default branch, else the branch's preview environment (created once)."""
    if branch == project.default_branch:
        return ensure_production_environment(session, project=project)
    session.flush()
    environment = session.scalar(
        select(Environment).where(
            Environment.project_id == project.id, Environment.branch == branch
        )
    )
    if environment is not None:
        return environment
    taken = set(
        session.scalars(select(Environment.name).where(Environment.project_id == project.id))
    )
    # A branch literally called "production" must not take production's name.
    name = branch if branch not in taken and branch != PRODUCTION_NAME else f"preview-{branch}"
    environment = Environment(
        project=project, name=name, kind=EnvironmentKind.PREVIEW, branch=branch
    )
    session.add(environment)
    session.flush()
    return environment
