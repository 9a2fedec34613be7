"""What the text around a cursor says: the expression being typed and the names in sight.

Language-agnostic on purpose: dotted identifier chains (`a.b.c`) read the same in Python, TS/JS, Go,
Java and Rust paths after `::` is normalised, and a regex over a few hundred lines costs far less than
a parse on every keystroke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .types import Cursor

_CHAIN = re.compile(r"[A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*")
_SEPARATOR = re.compile(r"\s*(?:\.|::|->)\s*")
_TRAILING_CHAIN = re.compile(r"([A-Za-z_$][\w$]*(?:\s*(?:\.|::|->)\s*[A-Za-z_$][\w$]*)*)(\s*(?:\.|::|->)\s*)?$")
LINE_CACHE_ENTRIES = 100_000
_STRING_OR_COMMENT = re.compile(r"#[^\n]*|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'")

KEYWORDS = frozenset(
    """
    False None True and as assert async await break class continue def del elif else except finally for
    from global if import in is lambda nonlocal not or pass raise return try while with yield self cls
    super print len str int float bool dict list set tuple object type isinstance range enumerate zip
    var let const function new this typeof instanceof void null undefined true false export default
    interface extends implements public private protected static readonly abstract enum namespace
    declare keyof infer never unknown any string number boolean symbol package func go defer chan
    select struct map fn impl pub mod use crate mut match loop where trait dyn ref move unsafe
    """.split()
)


@dataclass(frozen=True)
class NameUse:
    """A dotted name seen in the buffer, with its distance in lines from the cursor."""

    chain: str  # dots only: `a.b.c`
    line: int
    distance: int


@dataclass(frozen=True)
class CursorExpression:
    """The dotted expression the cursor is typing: `client.se|` or `Foo(|` or `obj.|`."""

    chain: str  # complete parts: `client` for `client.se|`, `Foo` for `Foo(|`
    partial: str  # the member being typed after the last dot ("" right after the dot)
    is_member: bool  # the cursor sits after `chain.`


def normalise_chain(text: str) -> str:
    return _SEPARATOR.sub(".", text)


def cursor_expression(cursor: Cursor) -> CursorExpression | None:
    """The chain right before the cursor, looking through one open call paren (`f(` -> `f`)."""
    prefix = cursor.line_prefix.rstrip()
    if prefix.endswith("("):
        prefix = prefix[:-1].rstrip()
    match = _TRAILING_CHAIN.search(prefix)
    if match is None:
        return None
    chain = normalise_chain(match.group(1))
    if match.group(2):  # `obj.` — members of obj wanted
        return CursorExpression(chain, "", True)
    if "." in chain and not cursor.line_prefix.rstrip().endswith("("):
        head, _, partial = chain.rpartition(".")
        return CursorExpression(head, partial, True)
    return CursorExpression(chain, "", False)


def strip_strings_and_comments(line: str) -> str:
    return _STRING_OR_COMMENT.sub(" ", line)


def names_in_lines(lines: list[str], first_line: int, cursor_line: int) -> list[NameUse]:
    """Dotted names of lines[...] (line numbers start at ``first_line``), keywords dropped."""
    uses: list[NameUse] = []
    for offset, text in enumerate(lines):
        number = first_line + offset
        distance = abs(number - cursor_line)
        uses.extend(NameUse(chain, number, distance) for chain in line_names(text))
    return uses


@lru_cache(maxsize=LINE_CACHE_ENTRIES)
def line_names(text: str) -> tuple[str, ...]:
    """The dotted names of one line, keywords dropped. Cached by the line's text: between two
    keystrokes one line of a buffer changes, so the scan of the others is a lookup."""
    names = []
    for match in _CHAIN.finditer(strip_strings_and_comments(text)):
        chain = normalise_chain(match.group(0))
        if chain.split(".", 1)[0] in KEYWORDS and "." not in chain:
            continue
        names.append(chain)
    return tuple(names)


def chain_heads(chain: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `a.b`, `a`]: the longest spelling that resolves wins."""
    parts = chain.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
