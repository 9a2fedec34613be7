"""Slow preparation (lexical chunks, the reference graph) runs off the keystroke path, one thread per job.

A source whose data is not ready says so and is skipped for this request; the job it started makes
the data ready for a later one. Without a deadline (CLI, evaluation) sources prepare inline instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Thread] = {}

    def start(self, name: str, job: Callable[[], object]) -> None:
        """Run ``job`` in a daemon thread unless a job of that name is still running."""
        with self._lock:
            running = self._running.get(name)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._run, args=(name, job), name=f"wholerepo-{name}", daemon=True)
            self._running[name] = thread
            thread.start()

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._running.values()):
            thread.join(timeout)

    @staticmethod
    def _run(name: str, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # a failed preparation must never take the server down; the next request retries
            log.exception("background job %s failed", name)
