"""The stable part of a pack: a function of the repository, not of the cursor.

It holds the repo map and whole files (every file, in whole-repo mode; else the most imported
ones), in dependency order, and leaves out the file being edited, so it stays byte-identical while
the user types in that file and a serving engine's prefix cache reuses all of it. It is rebuilt
only when another file changes, and a rebuild does little: token counts are kept per content hash
(on disk), map lines per file version, and a file is counted only when the budget could hold it.

Generated copies (see generated.py) are left out: they repeat the sources and would crowd them out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from indexer import Index
from indexer.store import FileRow

from .generated import is_generated
from .sources.files import FileLines
from .token_store import text_hash
from .tokens import TokenCounter
from .types import PackItem
from .wholerepo import dependency_order, map_block

REPO_MAP_PATH = "<repo-map>"
MAP_SHARE = 0.25  # at most this much of a non-whole-repo stable budget goes to the map
# A cheap pre-filter before counting: code runs at 3-5 bytes a token, so a text of more bytes than
# this many per token of room left is not counted at all (it would not fit).
MAX_BYTES_PER_TOKEN = 12
COUNT_CHUNK = 64  # files counted per step while checking whether the whole repository fits
KEPT_PARTS = 8  # stable parts remembered (per cursor file and budget)
MAP_REASON = "repo map: every file and its signatures"


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
        self._cache: OrderedDict[tuple[str, int, int], tuple[int, StablePart]] = OrderedDict()
        self._blocks: dict[str, tuple[str, str]] = {}  # path -> (content hash, map block)
        self._lock = threading.Lock()

    def build(self, cursor_path: str, budget: int, stable_budget: int) -> StablePart:
        """Everything when the whole repository fits ``budget``; else at most ``stable_budget``."""
        generation = self.index.generation_excluding(cursor_path)
        key = (cursor_path, budget, stable_budget)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == generation:
                self._cache.move_to_end(key)
                return cached[1]
        part = self._build(cursor_path, budget, stable_budget)
        with self._lock:
            self._cache[key] = (generation, part)
            self._cache.move_to_end(key)
            while len(self._cache) > KEPT_PARTS:
                self._cache.popitem(last=False)
        return part

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Count every file's tokens and build every file's map lines now (after indexing, say), so
        that the first whole-repository pack is mostly lookups. Returns the files' total tokens."""
        rows = self._files()
        paths = sorted(rows)
        total = 0
        for done in range(0, len(paths), COUNT_CHUNK):
            chunk = paths[done : done + COUNT_CHUNK]
            total += sum(self._counts(chunk, rows).values())
            for path in chunk:
                self._block(path, rows[path])
            if progress is not None:
                progress(min(done + COUNT_CHUNK, len(paths)), len(paths))
        self._map_items(self._dependency_order([p for p in paths if not is_generated(p)]), rows)
        return total

    # -- building ----------------------------------------------------------------------------

    def _build(self, cursor_path: str, budget: int, stable_budget: int) -> StablePart:
        if budget <= 0:
            return StablePart([], False)
        rows = self._files()
        paths = sorted(p for p in rows if p != cursor_path and not is_generated(p))
        whole = self._whole_repo(paths, rows, budget)
        if whole is not None:
            return StablePart(whole, True)
        if stable_budget <= 0:
            return StablePart([], False)
        return StablePart(self._most_imported(paths, rows, stable_budget), False)

    def _whole_repo(self, paths: list[str], rows: dict[str, FileRow], budget: int) -> list[PackItem] | None:
        """Every file and the map, when they fit ``budget``; files are counted only until they do not."""
        if sum(rows[path].size for path in paths) > budget * MAX_BYTES_PER_TOKEN:
            return None
        counts: dict[str, int] = {}
        for chunk in _chunks(paths, COUNT_CHUNK):
            counts.update(self._counts(chunk, rows))
            if sum(counts.values()) > budget:
                return None
        ordered = self._dependency_order(paths)
        order = [p for p in ordered if counts[p] > 0 and self._text(p).strip()]
        map_items = self._map_items(ordered, rows)
        if sum(item.tokens for item in map_items) + sum(counts[p] for p in order) > budget:
            return None
        return map_items + [_file_item(path, self._text(path), counts[path], "whole repository") for path in order]

    def _most_imported(self, paths: list[str], rows: dict[str, FileRow], stable_budget: int) -> list[PackItem]:
        items: list[PackItem] = []
        remaining = stable_budget
        map_room = int(stable_budget * MAP_SHARE)
        ordered = self._dependency_order(paths)
        if self._map_size_within(ordered, rows, map_room * MAX_BYTES_PER_TOKEN):
            map_items = self._map_items(ordered, rows)
            map_tokens = sum(item.tokens for item in map_items)
            if map_tokens <= map_room:
                items += map_items
                remaining -= map_tokens
        wanted = set(paths)
        chosen: dict[str, int] = {}
        for path, _importers in self.index.store.most_imported(len(paths) + 1):
            if path not in wanted or rows[path].size > remaining * MAX_BYTES_PER_TOKEN:
                continue
            tokens = self._counts([path], rows)[path]
            if 0 < tokens <= remaining and self._text(path).strip():
                chosen[path] = tokens
                remaining -= tokens
        reason = "imported by many files: part of the stable prefix"
        order = [p for p in ordered if p in chosen]
        return items + [_file_item(p, self._text(p), chosen[p], reason) for p in order]

    # -- facts about files, cached by content --------------------------------------------------

    def _files(self) -> dict[str, FileRow]:
        return self.index.store.files()

    def _counts(self, paths: list[str], rows: dict[str, FileRow]) -> dict[str, int]:
        """Token counts by path, kept by content hash: only never-counted texts are read."""
        counts = self.counter.count_keyed((rows[p].hash, lambda p=p: self._text(p)) for p in paths)
        return {p: counts[rows[p].hash] for p in paths}

    def _text(self, path: str) -> str:
        return "\n".join(self.files.lines(path) or [])

    def _block(self, path: str, row: FileRow) -> str:
        cached = self._blocks.get(path)
        if cached is not None and cached[0] == row.hash:
            return cached[1]
        block = map_block(self.index, path)
        self._blocks[path] = (row.hash, block)
        return block

    def _map_size_within(self, paths: list[str], rows: dict[str, FileRow], max_chars: int) -> bool:
        """Whether the map of ``paths`` has at most ``max_chars`` (stops reading once it has more)."""
        size = 0
        for path in paths:
            size += len(self._block(path, rows[path])) + 1
            if size > max_chars:
                return False
        return True

    def _map_items(self, paths: list[str], rows: dict[str, FileRow]) -> list[PackItem]:
        """The repo map as one item per directory (directories by name, files in the given order).
        Each part is counted once per text and kept on disk, so leaving out the cursor's file
        recounts only its directory's part."""
        folders: dict[str, list[str]] = {}
        for path in paths:
            folders.setdefault(str(PurePosixPath(path).parent), []).append(self._block(path, rows[path]))
        texts = ["\n".join(folders[folder]) for folder in sorted(folders)]
        counts = self.counter.count_keyed((text_hash(text), lambda text=text: text) for text in texts)
        items, line = [], 1
        for text in texts:
            lines = text.count("\n") + 1
            items.append(
                PackItem(REPO_MAP_PATH, line, line + lines - 1, counts[text_hash(text)], MAP_REASON, text, True)
            )
            line += lines
        return items

    def _dependency_order(self, paths: list[str]) -> list[str]:
        return dependency_order(paths, self.index.store.dependency_edges())


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _file_item(path: str, text: str, tokens: int, reason: str) -> PackItem:
    return PackItem(path, 1, text.count("\n") + 1, tokens, reason, text, stable=True)
