"""Index questions a definitions search asks, remembered while their answers cannot change.

Resolving a name from the cursor's file depends on that file's imports and definitions and on
every other file; none of those change while the user types inside a function body. So answers
are kept under a key made of the other files' generation and a fingerprint of the cursor file's
imports and definitions (names and lines), and dropped as soon as that key moves. Counts of
references change with every keystroke, so they are kept per exact index generation only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

from indexer import Index, StoredDefinition

T = TypeVar("T")
KEPT_STATES = 8  # states answered for: a few files' worth, so switching buffers back and forth keeps them


class IndexLookups:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._answers: OrderedDict[tuple, dict[tuple, object]] = OrderedDict()
        self._lock = threading.Lock()

    def state(self, path: str) -> tuple:
        """What every remembered answer for searches from ``path`` depends on."""
        structure = (tuple(self.index.definitions(path)), tuple(self.index.imports_of(path)))
        return (path, self.index.generation_excluding(path), hash(structure))

    def resolve(self, state: tuple, path: str, name: str) -> list[StoredDefinition]:
        return self._remembered(state, ("resolve", path, name), lambda: self.index.resolve(path, name))

    def members(self, state: tuple, owner: StoredDefinition, name: str) -> list[StoredDefinition]:
        return self._remembered(state, ("members", owner, name), lambda: self.index.members(owner, name))

    def all_members(self, state: tuple, owner: StoredDefinition) -> list[StoredDefinition]:
        return self._remembered(state, ("all_members", owner), lambda: self.index.all_members(owner))

    def reference_totals(self, names: Iterable[str]) -> dict[str, int]:
        wanted = tuple(sorted(set(names)))
        state = ("generation", self.index.generation)
        return self._remembered(state, ("totals", wanted), lambda: self.index.reference_totals(wanted))

    def _remembered(self, state: tuple, question: tuple, answer: Callable[[], T]) -> T:
        with self._lock:
            answers = self._answers.get(state)
            if answers is not None and question in answers:
                return answers[question]  # type: ignore[return-value]
        value = answer()
        with self._lock:
            answers = self._answers.setdefault(state, {})
            answers[question] = value
            self._answers.move_to_end(state)
            while len(self._answers) > KEPT_STATES:
                self._answers.popitem(last=False)
        return value
