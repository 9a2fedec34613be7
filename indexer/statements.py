"""Top-level statements of a buffer, and the whole-line run of them that one edit touches.

In a language whose top-level statements parse the same on their own as inside their file
(``LanguageSpec.isolated_statements``: Python, where a top-level statement starts at column 0 with
no bracket, string or indentation open), an edit to an error-free file can be re-parsed as just
the statements it touches. Tree-sitter's incremental reparse of the whole file often costs as much
as a full parse (an insertion in front of a large class); a few statements cost well under 1 ms.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from tree_sitter import Node

NEWLINE = ord("\n")


@dataclass(frozen=True, slots=True)
class Statement:
    """A top-level child of the root: byte span, and whether it is an extra (a comment)."""

    start: int
    end: int
    extra: bool


@dataclass(frozen=True, slots=True)
class Region:
    """Whole lines ``[start, old_end)`` of the old text, ``[start, new_end)`` of the new, that hold
    every statement an edit touched; ``first``/``stop`` index those statements in the old list."""

    start: int
    old_end: int
    new_end: int
    first: int
    stop: int


def statements_of(root: Node, offset: int = 0) -> list[Statement]:
    return [Statement(c.start_byte + offset, c.end_byte + offset, c.is_extra) for c in root.children]


def starts_lines(text: bytes, statements: list[Statement]) -> bool:
    """Whether every statement that is not a comment starts at column 0.

    Tree-sitter's Python grammar accepts indented statements at the top level without an error;
    such a statement continues the block above it once that block's header is typed back, so a
    buffer holding one is never cut into snippets.
    """
    return all(s.start == 0 or text[s.start - 1] == NEWLINE for s in statements if not s.extra)


def line_start(text: bytes, offset: int) -> int:
    return text.rfind(b"\n", 0, offset) + 1


def next_line_start(text: bytes, offset: int) -> int:
    """``offset`` when it already starts a line, else the start of the following line (or the end)."""
    if offset == 0 or text[offset - 1] == NEWLINE:
        return offset
    found = text.find(b"\n", offset)
    return len(text) if found < 0 else found + 1


def whole_lines(old: bytes, new: bytes, start: int, old_end: int, new_end: int) -> tuple[int, int, int] | None:
    """The edit as a replacement of whole lines by whole lines, or None when it is not one.

    ``diff_range`` keeps the longest common prefix, so inserting ``"\\ndef f():\\n    pass\\n"``
    after a blank line looks like an edit starting mid-line; slid left over the repeated text,
    the same insertion is whole lines, and touches no existing statement.
    """
    if _is_lines(old, start, old_end) and _is_lines(new, start, new_end):
        return start, old_end, new_end
    if old_end != start and new_end != start:
        return None  # a replacement: there is nothing to slide
    text, length = (new, new_end - start) if old_end == start else (old, old_end - start)
    position = start
    while position > 0 and text[position - 1] == text[position + length - 1]:
        position -= 1
        if _is_lines(text, position, position + length):
            shift = start - position
            return position, old_end - shift, new_end - shift
    return None


def _is_lines(text: bytes, start: int, end: int) -> bool:
    starts_line = start == 0 or text[start - 1] == NEWLINE
    return starts_line and (end == start or text[end - 1] == NEWLINE)


def touched_region(
    statements: list[Statement], old: bytes, start: int, old_end: int, delta: int, aligned: bool
) -> Region:
    """The lines of ``[start, old_end)`` (exactly those when the edit is whole lines) widened to
    every statement they overlap, the comments above the first (its doc may be among them), and
    the statement right below a trailing comment (its doc may have changed)."""
    if aligned:
        low, high = start, old_end
    else:
        low = line_start(old, start)
        found = old.find(b"\n", old_end)
        high = len(old) if found < 0 else found + 1
    starts = [s.start for s in statements]
    while True:
        first = bisect_left(starts, low)
        while first > 0 and statements[first - 1].end > low:
            first -= 1
        stop = first
        while stop < len(statements) and statements[stop].start < high:
            stop += 1
        while first > 0 and statements[first - 1].extra:
            first -= 1
        if stop > first and statements[stop - 1].extra and adjacent(old, statements, stop - 1):
            stop += 1
        if stop == first:
            return Region(low, high, high + delta, first, stop)
        new_low = min(low, line_start(old, statements[first].start))
        new_high = max(high, next_line_start(old, statements[stop - 1].end))
        if (new_low, new_high) == (low, high):
            return Region(low, high, high + delta, first, stop)
        low, high = new_low, new_high


def adjacent(text: bytes, statements: list[Statement], index: int) -> bool:
    """Whether the statement after ``index`` starts on the line right after it ends."""
    following = index + 1
    if following >= len(statements):
        return False
    return text.count(b"\n", statements[index].end, statements[following].start) <= 1


def extend_to_next(statements: list[Statement], old: bytes, region: Region, delta: int) -> Region | None:
    """The region grown by the statement just below it (None when there is none)."""
    if region.stop >= len(statements):
        return None
    high = next_line_start(old, statements[region.stop].end)
    return Region(region.start, high, high + delta, region.first, region.stop + 1)


def line_count_of(text: bytes, start: int, end: int) -> int:
    """How many lines ``[start, end)`` spans when ``start`` begins a line."""
    if end <= start:
        return 0
    newlines = text.count(b"\n", start, end)
    return newlines if text[end - 1] == NEWLINE else newlines + 1


def ends_with_continuation(text: bytes) -> bool:
    """A last line ending in a backslash would join the line after the snippet."""
    return text.rstrip(b"\r\n").endswith(b"\\")


def spliced_statements(
    old: list[Statement], region: Region, fresh: list[Statement], delta: int
) -> list[Statement]:
    return (
        old[: region.first]
        + fresh
        + [Statement(s.start + delta, s.end + delta, s.extra) for s in old[region.stop :]]
    )


__all__ = [
    "Region",
    "Statement",
    "extend_to_next",
    "adjacent",
    "line_count_of",
    "spliced_statements",
    "starts_lines",
    "statements_of",
    "touched_region",
    "whole_lines",
]
