"""The text of workspace files as the index sees it (open buffers first), cached by content hash.

A pack looks up hundreds of spans; asking the index for each file's hash every time costs a query
per lookup, so a path's cached lines are trusted while the index's generation has not moved, or
while only the file being typed in (``typing_in``) has been written since they were checked.
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
        self._typing_in: str | None = None
        self._others: tuple[int, str | None, int] = (-1, None, -1)  # generation, typing_in -> others' generation

    def typing_in(self, path: str) -> None:
        """The file the user types in: its every keystroke leaves the other files' lines standing."""
        self._typing_in = path

    def lines(self, path: str) -> list[str] | None:
        generation = self.index.generation
        typing_in = self._typing_in
        with self._lock:
            cached = self._cache.get(path)
            checked = self._checked.get(path)
        if cached is not None and checked is not None:
            if checked == generation:
                return cached[1]
            if typing_in not in (None, path) and checked >= self._others_generation(generation, typing_in):
                return cached[1]  # every write since the check was to the file being typed in
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

    def _others_generation(self, generation: int, typing_in: str) -> int:
        """The index's generation but for ``typing_in``'s writes, asked once per generation (a
        pack asks for hundreds of files' lines)."""
        kept_generation, kept_path, others = self._others
        if kept_generation != generation or kept_path != typing_in:
            others = self.index.generation_excluding(typing_in)
            self._others = (generation, typing_in, others)
        return others

    def span_text(self, path: str, start_line: int, end_line: int) -> str:
        lines = self.lines(path) or []
        return "\n".join(lines[start_line - 1 : end_line])
