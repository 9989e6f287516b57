"""The log query language: ``status:>=500 -path:/health* "timed out" OR level:error``.

:func:`parse` reads the text into an ``ast.Expr`` (or raises :class:`QuerySyntaxError`,
a 400 naming the column); each store's compiler turns the tree into its own query inside
the project scope (``_qlang`` in ``devpush/services/victorialogs`` and ``…/loki``).
"""

from devpush.logs.qlang.ast import Expr
from devpush.logs.qlang.grammar import MAX_DEPTH, MAX_QUERY_CHARS, MAX_TERMS
from devpush.logs.qlang.parser import QuerySyntaxError, parse

__all__ = ["MAX_DEPTH", "MAX_QUERY_CHARS", "MAX_TERMS", "Expr", "QuerySyntaxError", "parse"]
