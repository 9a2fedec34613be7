"""QuietPool's worker handler waits only for worker exits and state changes: it must still replace
exited workers, finish on close, and stop on terminate."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from indexer.pool import QuietPool, StartingPool, _Tasks

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


def test_a_starting_pool_shares_the_tasks_between_the_caller_and_the_workers():
    tasks = list(range(400, 0, -1))  # biggest first, as the index sorts them
    pool = StartingPool(2, tasks, _square, 4, context=multiprocessing.get_context("forkserver"))
    here: list[int] = []

    def square_here(value: int) -> tuple[int, int]:
        if not here:  # the first task done here waits until the workers exist
            deadline = time.monotonic() + WAIT_S
            while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        here.append(value)
        time.sleep(0.001)  # lets the starting thread have the GIL
        return value * value, os.getpid()

    try:
        results = list(pool.results(here=square_here))
    finally:
        pool.close(finished=True)
    assert sorted(square for square, _ in results) == sorted(n * n for n in tasks)  # each task once
    assert here == sorted(tasks)[: len(here)]  # whatever this process took while they started: the smallest
    assert len(here) < len(tasks) and {pid for _, pid in results} - {os.getpid()}  # the workers did the rest


def test_the_caller_takes_from_the_back_while_the_pool_reads_from_the_front():
    tasks = _Tasks([5, 4, 3, 2, 1])
    assert tasks.take_smallest() == 1 and next(tasks) == 5 and tasks.take_smallest() == 2
    assert list(tasks) == [4, 3] and tasks.take_smallest() is None


def test_a_pool_that_cannot_start_raises_in_the_caller():
    pool = StartingPool(0, [1, 2, 3], _square, 1)  # no processes: Pool refuses
    try:
        with pytest.raises(ValueError):
            list(pool.results(here=_square))
    finally:
        pool.close(finished=False)


MAIN_SCRIPT = """
import multiprocessing, os, sys
if __name__ != "__main__":  # run again by a child process, as __mp_main__
    with open(os.environ["MARK"], "a") as mark:
        mark.write("imported")
else:
    from indexer.pool import QuietPool, without_main_module
    context = multiprocessing.get_context("forkserver")
    if sys.argv[1] == "without":
        with without_main_module():
            pool = QuietPool(1, context=context)
    else:
        pool = QuietPool(1, context=context)
    assert pool.apply(os.getpid) != os.getpid()
    pool.close()
    pool.join()
"""


@pytest.mark.parametrize("started", ["without", "with"])
def test_workers_started_without_the_main_module_do_not_run_it(tmp_path, started):
    script, mark = tmp_path / "main_script.py", tmp_path / "mark"
    script.write_text(MAIN_SCRIPT)
    env = {**os.environ, "MARK": str(mark), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, str(script), started]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    assert mark.exists() == (started == "with")  # multiprocessing's own way runs it: the test can tell
