"""Post-processing of a raw model suggestion: small filters, each one rule, applied in order.

Each filter takes the text and the cursor's surroundings and returns the new text ("" drops the
suggestion). `postprocess` is the pipeline; its order matters: cut to the scope first, then remove
what the buffer already has, then drop what is left empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .scope import line_indent

MAX_LINES = 24
_OPENERS, _CLOSERS = "([{", ")]}"


@dataclass(frozen=True)
class Surroundings:
    line_prefix: str  # the cursor's line up to the cursor
    line_suffix: str  # the rest of the cursor's line
    following: tuple[str, ...]  # the lines after the cursor's line
    multiline: bool


Filter = Callable[[str, Surroundings], str]


def keep_first_line(text: str, where: Surroundings) -> str:
    """Single-line mode: the suggestion ends at its first line break."""
    return text if where.multiline else text.split("\n", 1)[0]


def stop_at_scope_end(text: str, where: Surroundings) -> str:
    """Multi-line mode: stop at the first line that dedents out of the block being written."""
    if not where.multiline:
        return text
    lines = text.split("\n")
    first = where.line_prefix + lines[0]
    block_indent = line_indent(first) if first.strip() else None
    kept = [lines[0]]
    for line in lines[1:MAX_LINES]:
        if line.strip():
            if block_indent is None:
                block_indent = line_indent(line)
            elif line_indent(line) < block_indent:
                break
        kept.append(line)
    return "\n".join(kept)


def drop_repeated_suffix_lines(text: str, where: Surroundings) -> str:
    """Cut the suggestion where it starts repeating the next line already in the buffer."""
    upcoming = next((line.strip() for line in where.following if line.strip()), None)
    if upcoming is None:
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() == upcoming:
            return "\n".join(lines[:number])
    return text


def trim_suffix_overlap(text: str, where: Surroundings) -> str:
    """Drop the end of the suggestion that the rest of the cursor's line already has (`)` after `f(|)`).

    Only when the suggestion would otherwise close more brackets than it opens: `f(x)` inside `g(|)`
    keeps its own `)`.
    """
    rest = where.line_suffix.strip()
    body = text.rstrip()
    if not rest or not body.endswith(rest):
        return text
    trimmed = body[: len(body) - len(rest)]
    if any(c in _OPENERS + _CLOSERS for c in rest) and _depth(body) >= 0:
        return text
    return trimmed


def trim_trailing_space(text: str, where: Surroundings) -> str:
    return text.rstrip()


def drop_blank(text: str, where: Surroundings) -> str:
    return text if text.strip() else ""


FILTERS: tuple[Filter, ...] = (
    keep_first_line,
    stop_at_scope_end,
    drop_repeated_suffix_lines,
    trim_trailing_space,
    trim_suffix_overlap,
    drop_blank,
)


def postprocess(text: str, where: Surroundings) -> str:
    """The suggestion after every filter; "" when nothing worth showing is left."""
    for step in FILTERS:
        text = step(text, where)
        if not text:
            return ""
    return text


def _depth(text: str) -> int:
    """Opened minus closed brackets."""
    return sum(c in _OPENERS for c in text) - sum(c in _CLOSERS for c in text)
