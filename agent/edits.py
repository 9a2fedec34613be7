"""Edits as plain data: what a refactor, a quick fix or a completion proposes, before any protocol sees it.

Positions are 0-based lines and 0-based columns counted in Unicode code points (Python string
indices), so agent/ never thinks about UTF-16; lsp_server converts at the wire. A `FileChange`
carries the document version it was computed against (None for a file not open in the editor),
so a stale edit can be refused instead of applied to text that has moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Position:
    line: int  # 0-based
    column: int  # 0-based, in code points


@dataclass(frozen=True, order=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def of(start_line: int, start_column: int, end_line: int, end_column: int) -> Range:
        return Range(Position(start_line, start_column), Position(end_line, end_column))


@dataclass(frozen=True)
class TextEdit:
    range: Range
    new_text: str


@dataclass(frozen=True)
class FileChange:
    """Edits to one file, or its creation (`create=True`, one edit inserting the whole text)."""

    path: str  # relative to the workspace root, "/"-separated
    edits: tuple[TextEdit, ...]
    version: int | None = None
    create: bool = False


@dataclass(frozen=True)
class WorkspaceChange:
    """One change over many files, with a label the editor shows when it asks for confirmation."""

    label: str
    files: tuple[FileChange, ...] = field(default_factory=tuple)
    needs_confirmation: bool = False

    @property
    def paths(self) -> list[str]:
        return [change.path for change in self.files]

    @property
    def edit_count(self) -> int:
        return sum(len(change.edits) for change in self.files)


def line_starts(text: str) -> list[int]:
    """The string index where each line begins; lines end at "\n" only, as in LSP (a form feed or
    another character `str.splitlines` breaks on is part of its line)."""
    starts = [0]
    found = text.find("\n")
    while found != -1:
        starts.append(found + 1)
        found = text.find("\n", found + 1)
    return starts


def offset_of(text: str, position: Position, starts: list[int] | None = None) -> int:
    """The string index of a position; raises ValueError when it lies outside the text.

    `starts` (from `line_starts(text)`) spares recomputing them for many positions in one text.
    """
    starts = starts if starts is not None else line_starts(text)
    if position.line < 0 or position.column < 0:
        raise ValueError(f"negative position {position}")
    if position.line == len(starts) and position.column == 0:
        return len(text)
    if position.line >= len(starts):
        raise ValueError(f"line {position.line} is past the end ({len(starts)} lines)")
    begin = starts[position.line]
    end = starts[position.line + 1] - 1 if position.line + 1 < len(starts) else len(text)
    if end > begin and text[end - 1] == "\r":
        end -= 1
    if position.column > end - begin:
        raise ValueError(f"column {position.column} is past the end of line {position.line}")
    return begin + position.column


def apply_edits(text: str, edits: tuple[TextEdit, ...] | list[TextEdit]) -> str:
    """The text after the edits; edits must not overlap (ValueError otherwise)."""
    starts = line_starts(text)
    spans = sorted(
        (offset_of(text, e.range.start, starts), offset_of(text, e.range.end, starts), e.new_text) for e in edits
    )
    out: list[str] = []
    cursor = 0
    for start, end, new_text in spans:
        if start < cursor or end < start:
            raise ValueError("overlapping or inverted edits")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
