"""The cold-index process pool: ``multiprocessing.Pool`` without its busy worker-handler thread.

``Pool``'s worker-handler thread waits on the result pipe along with the worker sentinels
(CPython's ``Pool._get_sentinels``), so whenever a result sits in the pipe not yet read by the
result-handler thread, its wait returns at once and it loops: in a standard-library build that
spin took 0.7 s of the parent's CPU, on the same cores the workers need. The thread only acts on
worker exits (to replace a worker) and on state changes (close, terminate, the last task done,
each announced through the change notifier), so that is all this pool has it wait for.

``StartingPool`` starts one on a thread, its workers without the parent's ``__main__``, while the
caller extracts the smallest files itself.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import forkserver, spawn
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


_starting = threading.Lock()  # one pool starts at a time (they swap spawn's preparation data)


@contextmanager
def without_main_module() -> Iterator[None]:
    """Processes started inside skip running the parent's ``__main__`` module.

    A forkserver (or spawn) child first imports the parent's main module, as ``__mp_main__``, so
    that functions defined there unpickle. Indexing workers only run ``indexer.worker``'s functions,
    and the parent's main is the ``wholerepo`` command or a benchmark, which imports the agent and
    what it needs: half a second of each worker's CPU before its first file, and the build's first
    half second with both cores on imports.
    """
    prepared = spawn.get_preparation_data

    def without_main(name: str) -> dict:
        data = prepared(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    with _starting:
        spawn.get_preparation_data = without_main
        try:
            yield
        finally:
            spawn.get_preparation_data = prepared


class QuietPool(Pool):
    """A ``Pool`` whose worker handler sleeps until a worker exits or the pool's state changes."""

    def _get_sentinels(self) -> list:
        return [self._change_notifier._reader]


class StartingPool:
    """A ``QuietPool`` started on a thread, so that its caller works meanwhile.

    Starting workers waits for the fork server to import the extractors (0.2-0.3 s on one core,
    the other idle), so the caller extracts files itself until the pool is up. Tasks come from one
    deque: the caller takes the smallest (parsing holds the GIL, and the starting thread needs it
    back soon), the workers get the rest, biggest first, as soon as the pool is up.
    """

    def __init__(self, jobs: int, tasks: list, func: Callable, chunksize: int, **pool_args: object) -> None:
        self._tasks = _Tasks(tasks)
        self._up = threading.Event()
        self._pool: QuietPool | None = None
        self._results: Iterator | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._start, args=(jobs, func, chunksize, pool_args), name="wholerepo-pool-start", daemon=True
        )
        self._thread.start()

    def _start(self, jobs: int, func: Callable, chunksize: int, pool_args: dict) -> None:
        try:
            with without_main_module():
                self._pool = QuietPool(jobs, **pool_args)
            self._results = self._pool.imap_unordered(func, self._tasks, chunksize=chunksize)
        except BaseException as error:  # handed to the caller by results()
            self._error = error
        finally:
            self._up.set()

    def results(self, here: Callable) -> Iterator:
        """``here`` applied in this process to the smallest tasks while the pool starts, then the
        workers' results for the rest, in the order they finish."""
        while not self._up.is_set() and (task := self._tasks.take_smallest()) is not None:
            yield here(task)
        self._up.wait()
        if self._error is not None:
            raise self._error
        assert self._results is not None
        yield from self._results

    def close(self, finished: bool) -> None:
        """Let the workers write what they hold and exit (``finished``), else stop them now."""
        self._thread.join()
        if self._pool is not None:
            if finished:
                self._pool.close()  # workers write the extractions they still hold as they exit
            else:
                self._pool.terminate()
            self._pool.join()


class _Tasks:
    """The tasks, biggest first: the pool iterates from the front, the caller takes from the back
    (``deque``'s pops are atomic, so the two threads never get the same task)."""

    def __init__(self, tasks: list) -> None:
        self._deque = deque(tasks)

    def __iter__(self) -> _Tasks:
        return self

    def __next__(self) -> object:
        try:
            return self._deque.popleft()
        except IndexError:
            raise StopIteration from None

    def take_smallest(self) -> object | None:
        try:
            return self._deque.pop()
        except IndexError:
            return None
