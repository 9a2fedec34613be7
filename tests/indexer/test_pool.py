"""QuietPool's worker handler waits only for worker exits and state changes: it must still replace
exited workers, finish on close, and stop on terminate."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

from indexer.pool import QuietPool

WAIT_S = 60  # a hang fails the test instead of blocking the suite


def _square(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _joined(pool: QuietPool) -> bool:
    """Whether ``pool.join()`` returns within ``WAIT_S`` (a handler that never wakes would hang it)."""
    joiner = threading.Thread(target=pool.join, daemon=True)
    joiner.start()
    joiner.join(WAIT_S)
    return not joiner.is_alive()


def test_exited_workers_are_replaced_until_every_task_is_done():
    with QuietPool(2, maxtasksperchild=1, context=multiprocessing.get_context("fork")) as pool:
        results = pool.map_async(_square, range(12), chunksize=1).get(timeout=WAIT_S)
    assert [square for square, _ in results] == [n * n for n in range(12)]
    assert len({pid for _, pid in results}) == 12  # each worker exited after one task and was replaced


def test_close_and_join_return_once_the_last_result_is_in():
    pool = QuietPool(2, context=multiprocessing.get_context("forkserver"))
    squares = sorted(square for square, _ in pool.imap_unordered(_square, range(50), chunksize=4))
    pool.close()
    assert _joined(pool)
    assert squares == sorted(n * n for n in range(50))
    assert all(not process.is_alive() for process in pool._pool)


def test_terminate_stops_busy_workers():
    pool = QuietPool(2, context=multiprocessing.get_context("fork"))
    pool.map_async(_sleep, [WAIT_S] * 4)
    pool.terminate()
    assert _joined(pool)
    assert all(not process.is_alive() for process in pool._pool)
