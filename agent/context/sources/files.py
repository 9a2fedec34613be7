"""The text of workspace files as the index sees it (open buffers first), cached by content hash.

A pack looks up hundreds of spans; asking the index for each file's hash every time costs a query
per lookup, so a path's cached lines are trusted while the index's generation has not moved.
"""

from __future__ import annotations

import threading

from indexer import Index


class FileLines:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._cache: dict[str, tuple[str, list[str]]] = {}
        self._checked: dict[str, int] = {}  # path -> the generation its cached lines were checked at
        self._lock = threading.Lock()

    def lines(self, path: str) -> list[str] | None:
        generation = self.index.generation
        with self._lock:
            cached = self._cache.get(path)
            if cached is not None and self._checked.get(path) == generation:
                return cached[1]
        row = self.index.store.file(path)
        if row is None:
            return None
        if cached is not None and cached[0] == row.hash:
            with self._lock:
                self._checked[path] = generation
            return cached[1]
        text = self.index.source_text(path)
        if text is None:
            return None
        lines = text.split("\n")
        with self._lock:
            self._cache[path] = (row.hash, lines)
            self._checked[path] = generation
        return lines

    def span_text(self, path: str, start_line: int, end_line: int) -> str:
        lines = self.lines(path) or []
        return "\n".join(lines[start_line - 1 : end_line])
