"""Search/replace blocks from a model, parsed strictly and applied exactly once each.

The format, one or more per reply::

    <<<<<<< SEARCH
    lines exactly as they are in the file
    =======
    the lines that replace them
    >>>>>>> REPLACE

A block whose SEARCH text is missing, found more than once, or overlapping another block is an
error, as is a stray marker; the caller shows the error to the model once and asks again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..edits import Position, Range, TextEdit, apply_edits, line_starts, offset_of

SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"
_BLOCK = re.compile(r"^<<<<<<< SEARCH\n(.*?)\n?^=======\n(.*?)^>>>>>>> REPLACE[ \t]*$", re.S | re.M)
NO_CHANGES = "NO CHANGES"


class BlockError(ValueError):
    """The reply's blocks cannot be applied as they are; the message is shown to the model."""


@dataclass(frozen=True)
class Block:
    search: str
    replace: str


def parse_blocks(reply: str) -> list[Block]:
    """The blocks of a reply; [] for an explicit NO CHANGES; BlockError for anything malformed."""
    blocks = [Block(m.group(1), m.group(2)) for m in _BLOCK.finditer(reply)]
    markers = sum(reply.count(marker) for marker in (SEARCH, REPLACE))
    if markers != 2 * len(blocks):
        raise BlockError("a SEARCH/REPLACE block is malformed: each needs the three marker lines, in order")
    if not blocks and NO_CHANGES not in reply:
        raise BlockError(f"no SEARCH/REPLACE blocks found (answer {NO_CHANGES} if the file needs none)")
    for block in blocks:
        if not block.search.strip():
            raise BlockError("a SEARCH section is empty; quote the lines to replace")
    return blocks


def edits_for(text: str, blocks: list[Block]) -> tuple[TextEdit, ...]:
    """One edit per block, each SEARCH found exactly once and no two overlapping."""
    spans: list[tuple[int, int, str]] = []
    for number, block in enumerate(blocks, 1):
        count = text.count(block.search)
        if count != 1:
            found = "not found" if count == 0 else f"found {count} times"
            raise BlockError(f"block {number}: the SEARCH text is {found}; it must match exactly one place")
        start = text.index(block.search)
        spans.append((start, start + len(block.search), block.replace))
    spans.sort()
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise BlockError("two blocks overlap; merge them into one")
    return tuple(TextEdit(Range(_position(text, s), _position(text, e)), r) for s, e, r in spans)


def check_confined(before: str, after: str, edits: tuple[TextEdit, ...]) -> None:
    """BlockError unless ``after`` equals ``before`` everywhere outside the edited regions."""
    if apply_edits(before, edits) != after:
        raise BlockError("the edited text differs from the blocks' replacements")
    cursor_before = cursor_after = 0
    starts = line_starts(before)
    for edit in edits:
        start, end = offset_of(before, edit.range.start, starts), offset_of(before, edit.range.end, starts)
        kept = before[cursor_before:start]
        if after[cursor_after : cursor_after + len(kept)] != kept:
            raise BlockError("text outside the edited regions changed")
        cursor_after += len(kept) + len(edit.new_text)
        cursor_before = end
    if after[cursor_after:] != before[cursor_before:]:
        raise BlockError("text outside the edited regions changed")


def _position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset)
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1))
