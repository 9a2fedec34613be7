"""Index questions a definitions search asks, remembered while their answers cannot change.

Resolving a name from the cursor's file depends on that file's imports and top-level names and on
every other file; none of those change while the user types a line, even a definition's. So
answers are kept under a key made of the other files' generation and a fingerprint of the cursor
file's imports and top-level names, and dropped as soon as that key moves. An answer holding a
definition of the cursor's file itself is never kept: its lines move with the typing. Counts of
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
        names = sorted(
            {(d.definition.name, d.definition.kind) for d in self.index.definitions(path) if d.definition.parent == -1}
        )
        structure = (tuple(names), tuple(self.index.imports_of(path)))
        return (path, self.index.generation_excluding(path), hash(structure))

    def resolve(self, state: tuple, path: str, name: str) -> list[StoredDefinition]:
        return self._definitions(state, ("resolve", path, name), lambda: self.index.resolve(path, name))

    def members(self, state: tuple, owner: StoredDefinition, name: str) -> list[StoredDefinition]:
        return self._definitions(state, ("members", owner, name), lambda: self.index.members(owner, name))

    def all_members(self, state: tuple, owner: StoredDefinition) -> list[StoredDefinition]:
        return self._definitions(state, ("all_members", owner), lambda: self.index.all_members(owner))

    def _definitions(
        self, state: tuple, question: tuple, answer: Callable[[], list[StoredDefinition]]
    ) -> list[StoredDefinition]:
        """Remembered unless the question or the answer involves the cursor's own file."""
        own = state[0]
        if any(isinstance(part, StoredDefinition) and part.path == own for part in question):
            return answer()
        with self._lock:
            answers = self._answers.get(state)
            if answers is not None and question in answers:
                return answers[question]  # type: ignore[return-value]
        found = answer()
        if all(d.path != own for d in found):
            self._keep(state, question, found)
        return found

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
        self._keep(state, question, value)
        return value

    def _keep(self, state: tuple, question: tuple, value: object) -> None:
        with self._lock:
            answers = self._answers.setdefault(state, {})
            answers[question] = value
            self._answers.move_to_end(state)
            while len(self._answers) > KEPT_STATES:
                self._answers.popitem(last=False)
