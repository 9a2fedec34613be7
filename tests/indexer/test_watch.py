"""Real watchdog events keep the index current (waited for with a timeout, never timed)."""

from __future__ import annotations

import time

from tests.conftest import write_tree

TIMEOUT = 20.0


def wait_until(predicate, timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_watcher_follows_writes_creations_deletions_and_directory_moves(tmp_path, make_index):
    root = write_tree(tmp_path / "ws", {"pkg/__init__.py": "", "pkg/a.py": "def first():\n    pass\n"})
    index = make_index(root)
    index.build()
    watcher = index.watch()
    try:
        (root / "pkg/a.py").write_text("def second():\n    pass\n")
        assert wait_until(lambda: [d.definition.name for d in index.definitions("pkg/a.py")] == ["second"])

        (root / "pkg/b.py").write_text("from .a import second\n")
        assert wait_until(lambda: index.dependents("pkg/a.py") == ["pkg/b.py"])

        (root / "pkg/b.py").unlink()
        assert wait_until(lambda: index.store.file("pkg/b.py") is None)

        (root / "pkg").rename(root / "moved")
        assert wait_until(lambda: index.store.file("moved/a.py") is not None and index.store.file("pkg/a.py") is None)

        (root / "ignored").mkdir()
        (root / ".gitignore").write_text("ignored/\n")
        time.sleep(0.2)
        (root / "ignored/x.py").write_text("X = 1\n")
        (root / "moved/c.py").write_text("C = 1\n")
        assert wait_until(lambda: index.store.file("moved/c.py") is not None)
        assert index.store.file("ignored/x.py") is None
    finally:
        watcher.stop()


def test_open_buffer_wins_over_disk_writes(tmp_path, make_index):
    root = write_tree(tmp_path / "ws", {"m.py": "def disk():\n    pass\n"})
    index = make_index(root)
    index.build()
    watcher = index.watch()
    try:
        index.update("m.py", "def buffer():\n    pass\n")
        (root / "m.py").write_text("def disk_again():\n    pass\n")
        (root / "other.py").write_text("Y = 2\n")
        assert wait_until(lambda: index.store.file("other.py") is not None)
        assert [d.definition.name for d in index.definitions("m.py")] == ["buffer"]
    finally:
        watcher.stop()
    index.close_buffer("m.py")
    assert [d.definition.name for d in index.definitions("m.py")] == ["disk_again"]
