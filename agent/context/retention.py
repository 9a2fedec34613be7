"""Keeping the volatile tail in place from one keystroke to the next, for prefix caches.

A serving engine reuses the prompt up to the first token that differs from the previous request,
so an item that drops out of the middle of the tail costs everything after it. Three rules:

- selection: the cursor's own expression first, then what the previous pack held (while it still
  ranks among the likely, or is proposed at all while the cursor stays near), in its previous
  order, so a full budget loses the end, not the middle;
- stickiness: an item the ranking stops proposing for a few keystrokes (a half-typed word can
  resolve to nothing; a finished word changes the lexical query) is kept for up to STICKY_PACKS
  packs while the cursor stays within NEARBY_LINES lines;
- extent: an item of the previous pack grows to the same end again (budget.py), so its text stays;
- prompt order: items the previous pack had keep their places, new ones follow, and the cursor's
  own file comes last in line order (its spans move with every edit of the buffer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .types import Candidate, Cursor, PackItem

RETAIN_WITHIN = 200  # a previously packed candidate is kept while it ranks within this many...
STICKY_PACKS = 6
NEARBY_LINES = 2  # ...or, while the cursor stays this close, while any source still proposes it


@dataclass(frozen=True)
class _Kept:
    key: tuple[str, int]
    end: int
    candidate: Candidate | None
    misses: int  # consecutive packs in which no source proposed it


@dataclass(frozen=True)
class _Tail:
    path: str
    line: int
    kept: tuple[_Kept, ...]  # in prompt order


class Retention:
    """The previous tail of one packer (one cursor file at a time)."""

    def __init__(self) -> None:
        self._tail: _Tail | None = None
        self._lock = threading.Lock()

    def _previous(self, cursor: Cursor) -> _Tail | None:
        with self._lock:
            tail = self._tail
        return tail if tail is not None and tail.path == cursor.path else None

    def selection_order(self, cursor: Cursor, ranked: list[Candidate]) -> tuple[list[Candidate], dict]:
        """The order candidates are offered to the budget, and the misses of each sticky one."""
        previous = self._previous(cursor)
        if previous is None:
            return ranked, {}
        position = {kept.key: n for n, kept in enumerate(previous.kept)}
        nearby = abs(cursor.line - previous.line) <= NEARBY_LINES
        likely: dict[tuple, Candidate] = {}
        for candidate in ranked if nearby else ranked[:RETAIN_WITHIN]:
            if not candidate.pinned:
                likely.setdefault(candidate.key, candidate)
                likely.setdefault((candidate.path, candidate.start_line), candidate)
        proposed = {c.key for c in ranked} | {(c.path, c.start_line) for c in ranked}
        retained: list[Candidate] = []
        misses: dict[tuple[str, int], int] = {}
        for kept in previous.kept:
            wanted = kept.candidate.key if kept.candidate is not None else kept.key
            if wanted in likely:
                retained.append(likely[wanted])
            elif nearby and wanted not in proposed and kept.candidate is not None and kept.misses < STICKY_PACKS:
                retained.append(kept.candidate)
                misses[kept.key] = kept.misses + 1
        retained = list({id(c): c for c in retained}.values())
        retained.sort(key=lambda c: position.get((c.path, c.start_line), len(position)))
        pinned = [c for c in ranked if c.pinned]
        chosen = {id(c) for c in pinned + retained}
        return pinned + retained + [c for c in ranked if id(c) not in chosen], misses

    def previous_ends(self, cursor: Cursor) -> dict[tuple[str, int], int]:
        """Where each item of the previous pack ended: it grows back to just that."""
        previous = self._previous(cursor)
        return {kept.key: kept.end for kept in previous.kept} if previous else {}

    def prompt_order(self, cursor: Cursor, items: list[PackItem]) -> list[PackItem]:
        previous = self._previous(cursor)
        position = {kept.key: n for n, kept in enumerate(previous.kept)} if previous else {}
        others = [item for item in items if item.path != cursor.path]
        own = sorted((item for item in items if item.path == cursor.path), key=lambda item: item.start_line)
        kept = sorted((i for i in others if (i.path, i.start_line) in position), key=lambda i: position[_key(i)])
        return kept + [i for i in others if _key(i) not in position] + own

    def remember(self, cursor: Cursor, items: list[PackItem], offered: list[Candidate], misses: dict) -> None:
        by_key: dict[tuple[str, int], Candidate] = {}
        for candidate in offered:  # the first offered with that first line is the one packed
            by_key.setdefault((candidate.path, candidate.start_line), candidate)
        kept = tuple(_Kept(_key(i), i.end_line, by_key.get(_key(i)), misses.get(_key(i), 0)) for i in items)
        with self._lock:
            self._tail = _Tail(cursor.path, cursor.line, kept)


def _key(item: PackItem) -> tuple[str, int]:
    return (item.path, item.start_line)
