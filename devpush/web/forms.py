"""The web forms' fields, each with its limit from ``devpush/core/limits.py``.

A route takes a field as ``email: EmailField``, or a form whose fields travel together (the
log-in, a password change, a new user, a new domain) as one model: ``form:
Annotated[LoginForm, Form()]``. A value past its limit, or a required field left out,
answers 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from pydantic import BaseModel, Field

from devpush.core.limits import (
    BRANCH_CHARS,
    COMMIT_CHARS,
    DOMAIN_CHARS,
    EMAIL_CHARS,
    ENV_TEXT_CHARS,
    ENVIRONMENT_CHARS,
    PASSWORD_CHARS,
    TOKEN_NAME_CHARS,
    USER_NAME_CHARS,
    VARIABLE_KEY_CHARS,
    VARIABLE_VALUE_CHARS,
)
from devpush.models import TeamRole

EmailField = Annotated[str, Form(max_length=EMAIL_CHARS)]
BranchField = Annotated[str, Form(max_length=BRANCH_CHARS)]
CommitField = Annotated[str, Form(max_length=COMMIT_CHARS)]
TokenNameField = Annotated[str, Form(max_length=TOKEN_NAME_CHARS)]
DomainField = Annotated[str, Form(max_length=DOMAIN_CHARS)]
#: An environment's name, or a variables scope (``shared`` or an environment's name).
EnvironmentField = Annotated[str, Form(max_length=ENVIRONMENT_CHARS)]
VariableKeyField = Annotated[str, Form(max_length=VARIABLE_KEY_CHARS)]
VariableValueField = Annotated[str, Form(max_length=VARIABLE_VALUE_CHARS)]
EnvTextField = Annotated[str, Form(max_length=ENV_TEXT_CHARS)]

_Email = Annotated[str, Field(max_length=EMAIL_CHARS)]
_Password = Annotated[str, Field(max_length=PASSWORD_CHARS)]


class LoginForm(BaseModel):
    email: _Email
    password: _Password


class PasswordChangeForm(BaseModel):
    current_password: _Password
    new_password: _Password
    #: The new password typed again.
    confirm_password: _Password


class NewUserForm(BaseModel):
    """An admin's new user: into the current team with ``role``, or (``placement=own``)
    into a team of their own."""

    email: _Email
    password: _Password
    name: Annotated[str, Field(max_length=USER_NAME_CHARS)] = ""
    placement: Annotated[str, Field(max_length=20)] = "current"
    role: TeamRole = TeamRole.MEMBER


class DomainForm(BaseModel):
    """A custom domain to add: left empty, ``environment`` is production and
    ``redirect_to`` none (the domain serves the environment itself)."""

    name: Annotated[str, Field(max_length=DOMAIN_CHARS)]
    environment: Annotated[str, Field(max_length=ENVIRONMENT_CHARS)] = ""
    redirect_to: Annotated[str, Field(max_length=DOMAIN_CHARS)] = ""
