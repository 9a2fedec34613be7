"""kill -9 during a cold build: the index stays intact and the next build resumes to the same result."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from indexer import Index, IndexConfig
from tests.conftest import write_tree


def indexed_rows(db_path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_cold_build_resumes_to_the_same_index(tmp_path):
    body = "".join(f"def f_{i}(x):\n    return g(x) + {i}\n\n\n" for i in range(300))
    files = {f"pkg/m{n:03}.py": f"from .m{(n + 1) % 400:03} import f_0 as g\n\n\n{body}" for n in range(400)}
    root = write_tree(tmp_path / "ws", {**files, "pkg/__init__.py": ""})
    index_dir = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "lsp_server.cli", "index", str(root), "--index-dir", str(index_dir), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while indexed_rows(index_dir / "index.sqlite") == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI, its forkserver and the workers
    process.wait()

    with sqlite3.connect(index_dir / "index.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Index(root, IndexConfig(index_dir=index_dir)) as resumed:
        stats = resumed.build()
        assert stats.parsed + stats.unchanged == 401
        assert stats.parsed > 0 and stats.unchanged > 0  # the kill landed mid-build
        resumed_state = (resumed.stats() | {"index_bytes": 0}, resumed.store.dependency_edges())
    with Index(root, IndexConfig(index_dir=tmp_path / "fresh")) as fresh:
        fresh.build()
        fresh_state = (fresh.stats() | {"index_bytes": 0}, fresh.store.dependency_edges())
    assert resumed_state == fresh_state
