"""The stable part of a pack: a function of the repository, not of the cursor.

It holds the repo map and whole files (every file, in whole-repo mode; else the most imported
ones), in dependency order, and leaves out the file being edited, so it stays byte-identical while
the user types in that file and a serving engine's prefix cache reuses all of it. It is rebuilt
only when another file changes.

Generated copies (see generated.py) are left out: they repeat the sources and would crowd them out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from indexer import Index

from .generated import is_generated
from .sources.files import FileLines
from .tokens import TokenCounter
from .types import PackItem
from .wholerepo import dependency_order, repo_map

REPO_MAP_PATH = "<repo-map>"
MAP_SHARE = 0.25  # at most this much of a non-whole-repo stable budget goes to the map


@dataclass(frozen=True)
class StablePart:
    items: list[PackItem]
    whole_repo: bool

    @property
    def tokens(self) -> int:
        return sum(item.tokens for item in self.items)


class StablePrefix:
    def __init__(self, index: Index, files: FileLines, counter: TokenCounter) -> None:
        self.index = index
        self.files = files
        self.counter = counter
        self._cache: dict[tuple[str, int, int], tuple[int, StablePart]] = {}
        self._lock = threading.Lock()

    def build(self, cursor_path: str, budget: int, stable_budget: int) -> StablePart:
        """Everything when the whole repository fits ``budget``; else at most ``stable_budget``."""
        generation = self.index.generation_excluding(cursor_path)
        key = (cursor_path, budget, stable_budget)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == generation:
                return cached[1]
        part = self._build(cursor_path, budget, stable_budget)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if k[0] == cursor_path}  # one file's worth
            self._cache[key] = (generation, part)
        return part

    def _build(self, cursor_path: str, budget: int, stable_budget: int) -> StablePart:
        if budget <= 0:
            return StablePart([], False)
        paths = [p for p in self.index.store.paths() if p != cursor_path and not is_generated(p)]
        order = dependency_order(paths, self.index.store.dependency_edges())
        texts = {path: "\n".join(self.files.lines(path) or []) for path in order}
        order = [path for path in order if texts[path].strip()]
        counts = dict(zip(order, self.counter.count_many([texts[p] for p in order]), strict=True))
        map_text = repo_map(self.index, order)
        map_tokens = self.counter.count(map_text)

        if map_tokens + sum(counts.values()) <= budget:
            items = [self._map_item(map_text, map_tokens, "repo map: every file and its signatures")]
            items += [self._file_item(path, texts[path], counts[path], "whole repository") for path in order]
            return StablePart(items, True)

        items: list[PackItem] = []
        remaining = stable_budget
        if remaining <= 0:
            return StablePart([], False)
        if map_tokens <= stable_budget * MAP_SHARE:
            items.append(self._map_item(map_text, map_tokens, "repo map: every file and its signatures"))
            remaining -= map_tokens
        chosen: set[str] = set()
        for path, _importers in self.index.store.most_imported(len(order)):
            if path in counts and counts[path] <= remaining:
                chosen.add(path)
                remaining -= counts[path]
        reason = "imported by many files: part of the stable prefix"
        items += [self._file_item(p, texts[p], counts[p], reason) for p in order if p in chosen]
        return StablePart(items, False)

    @staticmethod
    def _map_item(text: str, tokens: int, reason: str) -> PackItem:
        return PackItem(REPO_MAP_PATH, 1, text.count("\n") + 1, tokens, reason, text, stable=True)

    def _file_item(self, path: str, text: str, tokens: int, reason: str) -> PackItem:
        return PackItem(path, 1, text.count("\n") + 1, tokens, reason, text, stable=True)
