"""The grammar of the log query language (Lark, LALR), and its limits, named once.

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          (a space is AND)
    unary    := "NOT" unary | "-" atom | atom   ("-" is glued to what it negates)
    atom     := "(" or ")" | WORD | "phrase" | /regex/ | FIELD value
    value    := [">=" | ">" | "<=" | "<" | "="] (VALUE | "quoted value")

A ``FIELD`` is a known field name (or ``json.<name>``) and its colon; a word with a colon
that names no field is plain text (``http://x``, ``error:``). A regex is ``/…/`` followed
by a space, ``)`` or the end, so a path like ``/api/users`` is text.
"""

from __future__ import annotations

from typing import Final

from lark import Lark

from devpush.logs.qlang.ast import FIELDS

#: The longest query text, in characters.
MAX_QUERY_CHARS: Final = 1000
#: The deepest nesting of parentheses and negations.
MAX_DEPTH: Final = 16
#: The most terms (words, phrases, regexes, field matches) in one query.
MAX_TERMS: Final = 40

_FIELD_NAMES: Final = "|".join(sorted(FIELDS, key=len, reverse=True))

GRAMMAR: Final = rf"""
start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: unary (_AND? unary)*
?unary: NOT unary -> negated
      | MINUS atom -> negated
      | atom
?atom: LPAR or_expr RPAR -> group
     | WORD -> text
     | QUOTED -> phrase
     | REGEX -> regex
     | FIELD OP? value -> field

?value: VALUE | QUOTED

_OR.3: "OR"
_AND.3: "AND"
NOT.3: "NOT"
LPAR: "("
RPAR: ")"
MINUS.4: /-(?=[^\s)])/
FIELD.3: /(?:{_FIELD_NAMES}|json\.[^\s:()"]*):/i
OP.3: />=|<=|>|<|=/
QUOTED.2: /"(?:[^"\\]|\\.)*"/s
REGEX.2: /\/(?:[^\/\\\n]|\\.)+\/(?=[\s)]|$)/
WORD: /[^\s()"\-][^\s()"]*/
VALUE: /[^\s()"]+/

%ignore /\s+/
"""

PARSER: Final = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)
