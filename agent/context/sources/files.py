"""The text of workspace files as the index sees it (open buffers first), cached by content hash."""

from __future__ import annotations

from indexer import Index


class FileLines:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._cache: dict[str, tuple[str, list[str]]] = {}

    def lines(self, path: str) -> list[str] | None:
        row = self.index.store.file(path)
        if row is None:
            return None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == row.hash:
            return cached[1]
        text = self.index.source_text(path)
        if text is None:
            return None
        lines = text.split("\n")
        self._cache[path] = (row.hash, lines)
        return lines

    def span_text(self, path: str, start_line: int, end_line: int) -> str:
        lines = self.lines(path) or []
        return "\n".join(lines[start_line - 1 : end_line])
