"""The cold-index process pool: ``multiprocessing.Pool`` without its busy worker-handler thread.

``Pool``'s worker-handler thread waits on the result pipe along with the worker sentinels
(CPython's ``Pool._get_sentinels``), so whenever a result sits in the pipe not yet read by the
result-handler thread, its wait returns at once and it loops: in a standard-library build that
spin took 0.7 s of the parent's CPU, on the same cores the workers need. The thread only acts on
worker exits (to replace a worker) and on state changes (close, terminate, the last task done,
each announced through the change notifier), so that is all this pool has it wait for.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from multiprocessing.pool import Pool


def pool_context() -> BaseContext:
    """Workers fork from a server that has already imported the extractors: each starts at once
    instead of spending ~0.2 s of CPU on imports (takes effect when the server starts)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["indexer.worker"])
    return context


def start_fork_server() -> None:
    """Starts the fork server now, without waiting for it: its imports then overlap whatever the
    caller does before it asks for workers (a cold build's walk over the files)."""
    pool_context()
    forkserver.ensure_running()


class QuietPool(Pool):
    """A ``Pool`` whose worker handler sleeps until a worker exits or the pool's state changes."""

    def _get_sentinels(self) -> list:
        return [self._change_notifier._reader]
