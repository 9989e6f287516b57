"""Small rewrites of a parsed query before it is compiled (depth is bounded by the parser)."""

from __future__ import annotations

from collections.abc import Mapping

from devpush.logs.levels import LEVELS, Level
from devpush.logs.qlang.ast import And, Expr, FieldMatch, Not, Or


def lift_level(expr: Expr) -> tuple[Level | None, Expr | None]:
    """A top-level ``level:x`` term taken out, to filter as the level drop-down does.

    The stores filter a level with a superset regex and devpush keeps the lines whose
    detected level agrees, which only works for a level every line must have; a level
    under OR or NOT stays in the tree (the superset regex alone).
    """
    items = list(expr.items) if isinstance(expr, And) else [expr]
    for index, item in enumerate(items):
        if isinstance(item, FieldMatch) and item.field == "level" and item.value in LEVELS:
            level = next(level for level in LEVELS if level == item.value)
            rest = items[:index] + items[index + 1 :]
            if not rest:
                return level, None
            return level, rest[0] if len(rest) == 1 else And(tuple(rest))
    return None, expr


def map_values(expr: Expr, field: str, values: Mapping[str, str]) -> Expr:
    """``expr`` with each exact ``field:value`` whose value is a key of ``values`` replaced
    (an environment's name by its id)."""
    if isinstance(expr, And):
        return And(tuple(map_values(item, field, values) for item in expr.items))
    if isinstance(expr, Or):
        return Or(tuple(map_values(item, field, values) for item in expr.items))
    if isinstance(expr, Not):
        return Not(map_values(expr.item, field, values))
    if isinstance(expr, FieldMatch) and expr.field == field and not expr.wildcard:
        return FieldMatch(field, values.get(expr.value.lower(), expr.value))
    return expr
