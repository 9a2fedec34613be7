"""Source 4: recent edits and open buffers — what the user just touched is likely what comes next.

Each edit brings the definition around it (most recent first); an edit outside any definition
brings the lines around it. Several edits inside one definition count once.
"""

from __future__ import annotations

from indexer import Index

from ..deadline import Deadline
from ..types import Candidate, Cursor, Edit
from .files import FileLines

AROUND_EDIT = 10  # lines either side of an edit outside any definition
MAX_DEFINITION_LINES = 80  # a larger definition contributes the lines around the edit only


class RecentSource:
    name = "recent"

    def __init__(self, index: Index, files: FileLines) -> None:
        self.index = index
        self.files = files

    def candidates(self, cursor: Cursor, deadline: Deadline, edits: tuple[Edit, ...] = ()) -> list[Candidate]:
        out: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        for edit in sorted(edits, key=lambda e: -e.at):
            if deadline.expired():
                break
            lines = self.files.lines(edit.path)
            if lines is None:
                continue
            definition = self.index.definition_at(edit.path, edit.line)
            if definition is not None and definition.end_line - definition.start_line < MAX_DEFINITION_LINES:
                start, end, what = definition.start_line, definition.end_line, f"{definition.kind} {definition.name}"
            else:
                start = max(1, edit.line - AROUND_EDIT)
                end = min(len(lines), edit.line + AROUND_EDIT)
                what = f"lines around line {edit.line}"
            if (edit.path, start, end) in seen:
                continue
            seen.add((edit.path, start, end))
            out.append(Candidate(edit.path, start, end, f"recently edited: {what}", self.name))
        return out
