"""Reference rows keyed by file id ranges: rewrites of one file keep every other file's rows, and a
file whose ids run out is renumbered without losing or duplicating a name."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import store as store_module
from indexer.model import ParsedFile
from indexer.store import Store, pack_references


def _put(store: Store, path: str, references: dict[str, list[int]]) -> None:
    with store.transaction():
        store.put_file(path, "h", 1, 0, 0, ParsedFile("python", 10), pack_references(references))


def _stored(store: Store, names: list[str]) -> dict[str, list[tuple[str, int, int]]]:
    return {name: [(o.path, o.line, o.col) for o in store.references_to(name)] for name in names}


@pytest.mark.parametrize("refs_per_file", [store_module.REFS_PER_FILE, 6])
def test_rewrites_keep_other_files_and_renumber_when_ids_run_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refs_per_file: int
) -> None:
    monkeypatch.setattr(store_module, "REFS_PER_FILE", refs_per_file)
    store = Store(tmp_path / "index.sqlite")
    _put(store, "a.py", {"x": [1, 0], "y": [2, 0]})
    _put(store, "b.py", {"x": [3, 4], "z": [5, 6]})
    # each version drops a name and adds a new one: with 6 ids per file, new ids run out and renumber
    for step in range(8):
        _put(store, "a.py", {"x": [1, step], f"n{step}": [2, 1], f"m{step}": [3, 2]})
        names = ["x", "y", "z", *(f"n{i}" for i in range(8)), *(f"m{i}" for i in range(8))]
        expected = {name: [] for name in names}
        expected["x"] = [("a.py", 1, step), ("b.py", 3, 4)]
        expected["z"] = [("b.py", 5, 6)]
        expected[f"n{step}"] = [("a.py", 2, 1)]
        expected[f"m{step}"] = [("a.py", 3, 2)]
        assert _stored(store, names) == expected
    assert store.totals()["references"] == 1 + 1 + 1 + 2  # x twice, z, n7, m7
    with store.transaction():
        store.delete_file("a.py")
    assert _stored(store, ["x", "z", "n7"]) == {"x": [("b.py", 3, 4)], "z": [("b.py", 5, 6)], "n7": []}
    store.close()
