"""Pydantic's validation errors in plain words, keyed by form field.

"String should have at least 1 character" means nothing to someone filling a form; "This
field is required." does. Messages our own validators raise are already plain and kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError


def plain_message(error: Any) -> str:
    """One pydantic/FastAPI error (a dict of ``errors()``) as a sentence for a person."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "This field is required."
    if kind == "string_too_short":
        return f"Use at least {ctx['min_length']} characters."
    if kind == "string_too_long":
        return f"Use at most {ctx['max_length']} characters."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Enter a number of at least {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"Enter a number of at most {ctx.get('le', ctx.get('lt'))}."
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _top_field(loc: list[str]) -> str:
    return loc[0] if loc else "form"


def field_errors(
    exc: ValidationError, field_of: Callable[[list[str]], str] = _top_field
) -> dict[str, str]:
    """The first plain message for each field (``form`` for errors of the whole form);
    ``field_of`` names the form's field for an error's location, where the body nests."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        errors.setdefault(field_of([str(part) for part in error["loc"]]), plain_message(error))
    return errors
