"""Cold-build workers never sleep on the database's write lock: they keep extracting and write later."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

from indexer import Index, IndexConfig
from tests.conftest import write_tree

FILES = 40
RESULTS_WHILE_LOCKED = 12  # fewer than one worker may hold back (MAX_PENDING)
SAFETY_RELEASE_S = 60  # only if the workers do block, so the test fails instead of hanging


def test_workers_keep_extracting_while_another_connection_holds_the_write_lock(tmp_path):
    root = write_tree(
        tmp_path / "ws",
        {
            f"pkg/m{n:02}.py": f"from .m{(n + 1) % FILES:02} import f_0\n\n\ndef f_{n}(x):\n    return f_0(x)\n"
            for n in range(FILES)
        }
        | {"pkg/__init__.py": ""},
    )
    index_dir = tmp_path / "index"
    with Index(root, IndexConfig(index_dir=index_dir, jobs=2)) as index:
        blocker = sqlite3.connect(index_dir / "index.sqlite", isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
        released = threading.Event()
        reached_while_locked: list[int] = []

        def release() -> None:
            if not released.is_set():
                released.set()
                blocker.execute("COMMIT")

        safety = threading.Timer(SAFETY_RELEASE_S, release)
        safety.start()

        def progress(done: int, total: int) -> None:
            if done == 1:  # this process extracts while its workers start: leave the rest to them
                deadline = time.monotonic() + SAFETY_RELEASE_S
                while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
            if done >= RESULTS_WHILE_LOCKED and not released.is_set():
                reached_while_locked.append(done)
                release()

        try:
            stats = index.build(progress)
        finally:
            safety.cancel()
            release()
            blocker.close()
        assert reached_while_locked, "workers stopped at the lock instead of extracting on"
        assert stats.parsed == FILES + 1
        assert len(index.store.paths()) == FILES + 1  # what they held back was written before the build ended
        assert index.imports_of("pkg/m00.py")[0].targets == ("pkg/m01.py",)
        assert sum(stats.worker_cpu.values()) > 0


def test_a_file_result_crosses_from_a_worker_with_every_field():
    """FileResult pickles as its field values (cheaper than a slotted dataclass's state): all of them arrive."""
    import pickle

    from indexer.worker import FileResult, extract_bytes

    extracted = extract_bytes("pkg/m.py", b"import os\n\n\ndef f(x):\n    return os.path.join(x)\n", 7, "digest", 4)
    extracted.worker_pid, extracted.worker_peak_rss_kb, extracted.worker_cpu_seconds = 11, 12, 1.5
    stored = FileResult("pkg/n.py", 3, 4, "h", 1, skipped="binary", stored=True, worker_pid=5)
    for result in (extracted, stored):
        assert pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL)) == result
    assert extracted.parsed is not None and extracted.references
