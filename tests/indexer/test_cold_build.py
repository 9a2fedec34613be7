"""A cold build through the bulk load (workers writing, the name indexes built at the end, the
imports resolved while the workers ran, the log folded in as it grows) ends as a plain build does."""

from __future__ import annotations

from pathlib import Path

from indexer import Index
from indexer.store import AUTOCHECKPOINT_PAGES, SECONDARY_INDEXES
from tests.conftest import write_tree


def many_modules(root: Path) -> Path:
    files = {
        f"pkg/sub_{i % 4}/mod_{i}.py": f"from pkg.sub_{(i + 1) % 4}.mod_{(i + 1) % 4} import f_{(i + 1) % 4}\n"
        f"from . import mod_{i}\nimport helper\n\n\ndef f_{i}(x):\n    return helper.g(x) + {i}\n"
        for i in range(60)
    }
    files |= {"pkg/__init__.py": "", **{f"pkg/sub_{j}/__init__.py": "" for j in range(4)}, "helper.py": "g = abs\n"}
    return write_tree(root, files)


def test_a_bulk_loaded_cold_build_matches_a_single_process_build(tmp_path, make_index, monkeypatch):
    root = many_modules(tmp_path / "many")
    single = make_index(root, jobs=1)
    single.build()  # under BULK_LOAD_MIN_FILES: no bulk load, everything resolved at the end
    monkeypatch.setattr("indexer.index.BULK_LOAD_MIN_FILES", 16)
    monkeypatch.setattr("indexer.index.COMMIT_EVERY", 8)
    checkpoints = []
    monkeypatch.setattr(Index, "_resolve_all", lambda self: (_ for _ in ()).throw(AssertionError("resolved again")))
    pooled = make_index(root, jobs=2)
    store_checkpoint = type(pooled.store).checkpoint
    monkeypatch.setattr(
        type(pooled.store),
        "checkpoint",
        lambda store, passive=False: (checkpoints.append(passive), store_checkpoint(store, passive))[1],
    )
    stats = pooled.build()
    assert stats.parsed == stats.files == 66
    assert checkpoints.count(True) >= 5 and checkpoints[-1] is False  # folded in while loading, then once at the end
    db = pooled.store._db
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")} >= set(SECONDARY_INDEXES)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == AUTOCHECKPOINT_PAGES  # later edits fold in again
    assert Path(f"{pooled.store.path}-wal").stat().st_size == 0
    assert pooled.stats() | {"index_bytes": 0} == single.stats() | {"index_bytes": 0}
    for path in single.store.paths():
        assert [(r.line, r.module, r.name, r.targets) for r in pooled.imports_of(path)] == [
            (r.line, r.module, r.name, r.targets) for r in single.imports_of(path)
        ]
        assert pooled.definitions(path) == single.definitions(path)
    assert pooled.dependents("helper.py") == single.dependents("helper.py") != []
    assert pooled.store.integrity_ok()
