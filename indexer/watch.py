"""Keeping the index current with the disk through watchdog.

One write produces several events (opened, modified, closed...), so paths are collected and
handed to ``Index.refresh`` once the burst has been quiet for a short debounce interval.
Directory moves and deletions refresh every indexed path below them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from .files import ALWAYS_SKIPPED_DIRS
from .languages import language_for_path

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.05
_CONFIG_NAMES = frozenset(
    {"go.mod", "tsconfig.json", "jsconfig.json", "package.json", "Cargo.toml", ".gitignore", ".wholerepoignore"}
)


class Watcher(FileSystemEventHandler):
    """Watches a workspace and calls ``on_change(paths)`` with workspace-relative paths."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[list[str]], None],
        indexed_below: Callable[[str], Iterable[str]],
        debounce: float = DEBOUNCE_SECONDS,
    ) -> None:
        self.root = root.resolve()
        self._on_change = on_change
        self._indexed_below = indexed_below
        self._debounce = debounce
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer = Observer()
        self._observer.daemon = True

    def start(self) -> Watcher:
        self._observer.schedule(self, str(self.root), recursive=True)
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self.flush()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        relevant: list[str] = []
        for raw in paths:
            rel = self._relative(raw)
            if rel is None:
                continue
            if isinstance(event, (DirDeletedEvent, DirMovedEvent)) or event.is_directory:
                if event.event_type in ("deleted", "moved"):
                    relevant.extend(self._indexed_below(rel))
                continue
            name = rel.rsplit("/", 1)[-1]
            if language_for_path(name) is not None or name in _CONFIG_NAMES:
                relevant.append(rel)
        if relevant:
            self._schedule(relevant)

    def _relative(self, raw: str | bytes) -> str | None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if not str(path):
            return None
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        if any(part in ALWAYS_SKIPPED_DIRS for part in rel.split("/")):
            return None
        return rel

    def _schedule(self, paths: list[str]) -> None:
        with self._lock:
            self._pending.update(paths)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Hand every pending path to the index now."""
        with self._lock:
            paths, self._pending = sorted(self._pending), set()
            self._timer = None
        if not paths:
            return
        try:
            self._on_change(paths)
        except Exception:  # a watcher thread must survive any single bad refresh
            log.exception("refreshing %d changed paths failed", len(paths))
