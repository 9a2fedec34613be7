"""The type-through cache: typing the first characters of a shown suggestion reuses it.

Each entry remembers the buffer around the cursor when the suggestion was made. A later request whose
text before the cursor extends that one by characters the suggestion starts with, with the text after
the cursor unchanged, gets the rest of the suggestion without asking the model again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry(Generic[T]):
    before: str
    after: str
    suggestion: str
    payload: T


class TypeThroughCache(Generic[T]):
    def __init__(self, per_path: int = 4) -> None:
        self.per_path = per_path
        self._entries: dict[str, OrderedDict[int, _Entry[T]]] = {}
        self._next = 0

    def store(self, path: str, before: str, after: str, suggestion: str, payload: T) -> None:
        entries = self._entries.setdefault(path, OrderedDict())
        entries[self._next] = _Entry(before, after, suggestion, payload)
        self._next += 1
        while len(entries) > self.per_path:
            entries.popitem(last=False)

    def lookup(self, path: str, before: str, after: str) -> tuple[str, T] | None:
        """The rest of a cached suggestion the user is typing through, with its payload."""
        for entry in reversed(list(self._entries.get(path, {}).values())):
            if entry.after != after or not before.startswith(entry.before):
                continue
            typed = before[len(entry.before) :]
            if entry.suggestion.startswith(typed) and len(typed) < len(entry.suggestion):
                return entry.suggestion[len(typed) :], entry.payload
        return None

    def forget(self, path: str) -> None:
        self._entries.pop(path, None)
