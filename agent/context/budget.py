"""Greedy packing of ranked candidates into a token budget: no overlaps, headers before bodies.

Pass 1 places every candidate's span (for definitions, the signature and docstring) in rank order
while it fits; pass 2 grows placed headers to whole bodies, again in rank order (items of the
previous pack first, to the extent they had there), while the budget allows. Spans are clipped
against lines already taken (the cursor's window included), so no line is ever packed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sources.files import FileLines
from .tokens import TokenCounter
from .types import Candidate, PackItem


@dataclass
class _Placed:
    candidate: Candidate
    start: int
    end: int
    tokens: int
    text: str


class Occupied:
    """Line intervals already packed, per file."""

    def __init__(self) -> None:
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def add(self, path: str, start: int, end: int) -> None:
        self._spans.setdefault(path, []).append((start, end))

    def remove(self, path: str, start: int, end: int) -> None:
        self._spans[path].remove((start, end))

    def free_part(self, path: str, start: int, end: int, anchor: int) -> tuple[int, int] | None:
        """The largest uncovered piece of [start, end] that still holds ``anchor`` (else the first
        uncovered piece), or None when everything is covered."""
        taken = [span for span in self._spans.get(path, ()) if span[0] <= end and span[1] >= start]
        if not taken:
            return (start, end)  # the common case: nothing packed yet overlaps it
        pieces = [(start, end)]
        for taken_start, taken_end in taken:
            next_pieces = []
            for a, b in pieces:
                if taken_end < a or taken_start > b:
                    next_pieces.append((a, b))
                    continue
                if a < taken_start:
                    next_pieces.append((a, taken_start - 1))
                if taken_end < b:
                    next_pieces.append((taken_end + 1, b))
            pieces = next_pieces
        if not pieces:
            return None
        holding = [piece for piece in pieces if piece[0] <= anchor <= piece[1]]
        return holding[0] if holding else pieces[0]


def pack_candidates(
    candidates: list[Candidate],
    budget: int,
    files: FileLines,
    counter: TokenCounter,
    occupied: Occupied,
    previous_ends: dict[tuple[str, int], int] | None = None,
) -> list[PackItem]:
    """``previous_ends``: where items of the previous pack ended, by (path, first line); such an
    item grows to that same end (or stays a header, if it was one) before anything else grows, so
    its text, and the prompt after it, stays what it was."""
    previous_ends = previous_ends or {}
    remaining = budget
    placed: list[_Placed] = []
    lines_of: dict[str, list[str] | None] = {}  # a pack offers a few hundred spans of a few dozen files
    for candidate in candidates:
        if remaining <= 0:
            break
        if candidate.path not in lines_of:
            lines_of[candidate.path] = files.lines(candidate.path)
        lines = lines_of[candidate.path]
        if lines is None:
            continue
        part = occupied.free_part(
            candidate.path, candidate.start_line, min(candidate.end_line, len(lines)), candidate.start_line
        )
        if part is None:
            continue
        text, tokens = counter.span(lines, *part)
        if tokens > remaining or not text or text.isspace():  # isspace: no copy of a long span
            continue
        occupied.add(candidate.path, *part)
        placed.append(_Placed(candidate, part[0], part[1], tokens, text))
        remaining -= tokens

    # pass 2: whole bodies where they fit; items of the previous pack first, to their old extent
    again = [entry for entry in placed if (entry.candidate.path, entry.start) in previous_ends]
    fresh = [entry for entry in placed if (entry.candidate.path, entry.start) not in previous_ends]
    for entry in again + fresh:
        full_end = entry.candidate.full_end_line
        if full_end is None or remaining <= 0 or entry.end != entry.candidate.end_line:
            continue
        full_end = min(full_end, previous_ends.get((entry.candidate.path, entry.start), full_end))
        remaining -= _grow(entry, full_end, remaining, files, counter, occupied)

    return [
        PackItem(entry.candidate.path, entry.start, entry.end, entry.tokens, entry.candidate.reason, entry.text)
        for entry in placed
    ]


def _grow(entry: _Placed, full_end: int, remaining: int, files: FileLines, counter: TokenCounter, occupied: Occupied):
    """Extend a placed header down to ``full_end`` when the free lines and the budget allow;
    returns the tokens it took."""
    lines = files.lines(entry.candidate.path) or []
    occupied.remove(entry.candidate.path, entry.start, entry.end)
    part = occupied.free_part(entry.candidate.path, entry.start, min(full_end, len(lines)), entry.start)
    spent = 0
    if part is not None and part[0] == entry.start and part[1] > entry.end:
        text, tokens = counter.span(lines, *part)
        if tokens - entry.tokens <= remaining:
            spent = tokens - entry.tokens
            entry.end, entry.tokens, entry.text = part[1], tokens, text
    occupied.add(entry.candidate.path, entry.start, entry.end)
    return spent
