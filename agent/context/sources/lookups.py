"""Index questions a definitions search asks, remembered while their answers cannot change.

Resolving a name from the cursor's file depends on that file's imports, on whether the name is one
of the file's own top-level names, and on every other file. So answers are kept under a loose key
(the other files' generation and the file's imports) and asked again when the name is (now) one of
the file's own: typing a new definition's name (`class _Ap`, `class _App`...) leaves every other
answer standing. An answer holding a definition of the cursor's file itself (its lines move with
the typing) is kept under an exact key that adds every definition of that file as the index now
holds it, docstrings aside (no answer depends on one; a kept answer's definitions of the file are
replaced by their current rows): typing inside a body or a docstring leaves the key alone, so
local names resolve from memory too, and a plain local name is answered from the file's
definitions without a query. Counts of references are the other files' totals, kept while no
other file changes, plus the cursor file's own counts, asked at each keystroke.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from indexer import Definition, ImportRow, Index, StoredDefinition

T = TypeVar("T")
KEPT_STATES = 8  # states answered for: a few files' worth, so switching buffers back and forth keeps them
KEPT_EXACT_STATES = 4  # the exact states change with each keystroke on a definition's line


@dataclass(frozen=True)
class LookupState:
    """What remembered answers for searches from ``path`` depend on, as of one keystroke."""

    path: str
    loose: tuple  # the other files and this file's imports
    exact: tuple  # and every definition of this file
    own: dict[str, list[StoredDefinition]]  # this file's top-level definitions by name
    own_names: int  # a fingerprint of this file's top-level names and kinds
    definitions: tuple[StoredDefinition, ...]  # this file's, as the index holds them now
    imports: tuple[ImportRow, ...]


class IndexLookups:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._answers: OrderedDict[tuple, dict[tuple, object]] = OrderedDict()
        self._exact_answers: OrderedDict[tuple, dict[tuple, object]] = OrderedDict()
        self._lock = threading.Lock()

    def state(self, path: str) -> LookupState:
        stored = tuple(self.index.definitions(path))
        imports = tuple(self.index.imports_of(path))
        own: dict[str, list[StoredDefinition]] = {}
        for d in stored:
            if d.definition.parent == -1:
                own.setdefault(d.definition.name, []).append(d)
        loose = (path, self.index.generation_excluding(path), hash(imports))
        exact = (*loose, hash(tuple(_without_doc(d.definition) for d in stored)))
        own_names = hash(tuple(sorted({(d.definition.name, d.definition.kind) for ds in own.values() for d in ds})))
        return LookupState(path, loose, exact, own, own_names, stored, imports)

    def resolve(self, state: LookupState, path: str, name: str) -> list[StoredDefinition]:
        head = name.split(".", 1)[0]
        if path == state.path and head in state.own:
            if head == name:  # the index's first rule: the file's own top-level definitions of that name
                return list(state.own[head])
            return self._definitions(state, ("resolve", path, name), lambda: self.index.resolve(path, name), True)
        return self._definitions(state, ("resolve", path, name), lambda: self.index.resolve(path, name))

    def members(self, state: LookupState, owner: StoredDefinition, name: str) -> list[StoredDefinition]:
        question = ("members", _owner_key(owner), name)
        return self._definitions(state, question, lambda: self.index.members(owner, name), owner.path == state.path)

    def all_members(self, state: LookupState, owner: StoredDefinition) -> list[StoredDefinition]:
        question = ("all_members", _owner_key(owner))
        return self._definitions(state, question, lambda: self.index.all_members(owner), owner.path == state.path)

    def receiver_classes(self, state: LookupState, line: int, receiver: str, text: str) -> list[StoredDefinition]:
        """The classes of ``receiver`` at ``line`` of the buffer ``text`` of the cursor's file (the
        class's name may be one of the file's own: their names are part of the question)."""
        question = ("receiver", line, receiver, text, state.own_names)
        return self._definitions(state, question, lambda: self.index.receiver_classes(state.path, line, receiver, text))

    def _definitions(
        self,
        state: LookupState,
        question: tuple,
        answer: Callable[[], list[StoredDefinition]],
        involves_own: bool = False,
    ) -> list[StoredDefinition]:
        """Remembered under the loose key, or under the exact one when the question or the
        answer involves the cursor's own file."""
        with self._lock:
            for kept, key in ((self._answers, state.loose), (self._exact_answers, state.exact))[involves_own:]:
                answers = kept.get(key)
                if answers is not None and question in answers:
                    return _current(state, answers[question])  # type: ignore[arg-type]
        found = answer()
        if involves_own or any(d.path == state.path for d in found):
            self._keep(self._exact_answers, KEPT_EXACT_STATES, state.exact, question, found)
        else:
            self._keep(self._answers, KEPT_STATES, state.loose, question, found)
        return found

    def current(self, state: LookupState, found: list[StoredDefinition]) -> list[StoredDefinition]:
        """An earlier answer with the cursor file's definitions as the index holds them now."""
        return _current(state, found)

    def reference_totals(self, state: LookupState, names: Iterable[str]) -> dict[str, int]:
        """Workspace-wide reference counts: the other files' totals are remembered while no other
        file changes; the cursor's file, which every keystroke changes, is counted anew."""
        wanted = tuple(sorted(set(names)))
        others = self._remembered(
            ("others", state.loose[:2]),
            ("totals", wanted),
            lambda: self.index.reference_totals(wanted, exclude_path=state.path),
        )
        totals = dict(others)
        for name, count in self.index.file_reference_counts(state.path, wanted).items():
            totals[name] = totals.get(name, 0) + count
        return totals

    def _remembered(self, state: tuple, question: tuple, answer: Callable[[], T]) -> T:
        with self._lock:
            answers = self._answers.get(state)
            if answers is not None and question in answers:
                return answers[question]  # type: ignore[return-value]
        value = answer()
        self._keep(self._answers, KEPT_STATES, state, question, value)
        return value

    def _keep(self, kept: OrderedDict, limit: int, state: tuple, question: tuple, value: object) -> None:
        with self._lock:
            answers = kept.setdefault(state, {})
            answers[question] = value
            kept.move_to_end(state)
            while len(kept) > limit:
                kept.popitem(last=False)


def _without_doc(definition: Definition) -> tuple:
    d = definition
    return (d.name, d.qualified_name, d.kind, d.start_line, d.end_line, d.name_line, d.name_col, d.signature, d.parent)


def _owner_key(owner: StoredDefinition) -> tuple:
    return (owner.path, owner.ord, _without_doc(owner.definition))


def _current(state: LookupState, found: list[StoredDefinition]) -> list[StoredDefinition]:
    """A kept answer with the cursor file's definitions as the index holds them now (their
    docstrings may have changed since; their order and everything else may not, by the key)."""
    rows = state.definitions
    return [rows[d.ord] if d.path == state.path and d.ord < len(rows) else d for d in found]
