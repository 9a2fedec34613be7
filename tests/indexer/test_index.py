"""The index end to end on a real SQLite file: build, queries, resumable and incremental updates."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import Index, IndexConfig
from indexer.store import SCHEMA_VERSION, Store


def test_build_extracts_definitions_with_spans_signatures_and_docs(py_project, make_index):
    index = make_index(py_project)
    stats = index.build()
    assert stats.files == 6 and stats.parsed == 6
    by_name = {d.definition.qualified_name: d.definition for d in index.definitions("src/shop/models.py")}
    item = by_name["Item"]
    assert (item.kind, item.start_line, item.name_line, item.end_line) == ("class", 5, 6, 10)
    assert item.doc == "A thing to buy."
    assert by_name["Cart.add"].kind == "method"
    assert by_name["Cart.add"].signature == "def add(self, item: Item) -> None"
    assert by_name["Item.price"].kind == "field"
    pricing = {d.definition.name: d.definition for d in index.definitions("src/shop/pricing.py")}
    assert pricing["total"].doc == "Sum of item prices, less the discount."


def test_imports_resolve_through_src_layout_relative_and_package_imports(py_project, make_index):
    index = make_index(py_project)
    index.build()
    assert index.dependencies("src/shop/util/text.py") == [
        "src/shop/__init__.py",
        "src/shop/models.py",
        "src/shop/pricing.py",
    ]
    assert index.dependents("src/shop/models.py") == [
        "src/shop/__init__.py",
        "src/shop/pricing.py",
        "src/shop/util/text.py",
    ]
    assert "tests/test_shop.py" in index.dependents("src/shop/__init__.py")


def test_names_resolve_through_reexports_star_imports_and_module_attributes(py_project, make_index):
    index = make_index(py_project)
    index.build()

    def where(path: str, name: str) -> list[tuple[str, str]]:
        return [(d.path, d.definition.qualified_name) for d in index.resolve(path, name)]

    assert where("tests/test_shop.py", "Cart") == [("src/shop/models.py", "Cart")]
    # `total` reaches the package through `from .pricing import *`
    assert where("tests/test_shop.py", "total") == [("src/shop/pricing.py", "total")]
    assert where("src/shop/util/text.py", "m.Cart") == [("src/shop/models.py", "Cart")]
    assert where("src/shop/util/text.py", "pricing.total") == [("src/shop/pricing.py", "total")]
    assert where("src/shop/util/text.py", "m.Cart.add") == [("src/shop/models.py", "Cart.add")]


def test_references_are_grouped_by_file_with_enclosing_definition(py_project, make_index):
    index = make_index(py_project)
    index.build()
    in_text = [o for o in index.references("total") if o.path == "src/shop/util/text.py"]
    assert [(o.line, o.col) for o in in_text] == [(3, 17), (7, 47)]
    describe = [d for d in index.definitions("src/shop/util/text.py") if d.definition.name == "describe"][0]
    assert in_text[1].enclosing == describe.ord
    assert in_text[0].enclosing == -1
    cart = index.resolve("tests/test_shop.py", "Cart")[0]
    users = {o.path for o in index.references_to(cart)}
    assert users == {
        "src/shop/__init__.py",
        "src/shop/pricing.py",
        "src/shop/util/text.py",  # as `m.Cart`
        "tests/test_shop.py",
    }


def test_reference_totals_split_into_other_files_and_one_file_add_up(py_project, make_index):
    index = make_index(py_project)
    index.build()
    names = ["total", "Cart", "describe", "not_a_name"]
    whole = index.reference_totals(names)
    assert whole["total"] == sum(count for _, count in index.store.reference_counts("total")) > 0
    for path in ("src/shop/util/text.py", "tests/test_shop.py", "not/a/file.py"):
        others = index.reference_totals(names, exclude_path=path)
        own = index.file_reference_counts(path, names)
        assert {n: others.get(n, 0) + own.get(n, 0) for n in names} == {n: whole.get(n, 0) for n in names}
    assert index.file_reference_counts("src/shop/util/text.py", names)["total"] == 2
    index.update("src/shop/util/text.py", "total = 1\nprint(total, total)\n")  # a buffer counts as it reads
    assert index.file_reference_counts("src/shop/util/text.py", ["total"]) == {"total": 2}


def test_rebuild_skips_unchanged_and_reparses_only_changed_files(py_project, make_index):
    index = make_index(py_project)
    index.build()
    (py_project / "src/shop/pricing.py").write_text("def total(cart):\n    return 0\n")
    (py_project / "tests/test_shop.py").unlink()
    stats = index.build()
    assert (stats.parsed, stats.removed, stats.unchanged) == (1, 1, 4)
    assert index.definitions("src/shop/pricing.py")[0].definition.signature == "def total(cart)"


def test_index_reopens_from_disk_and_keeps_content(py_project, tmp_path):
    config = IndexConfig(index_dir=tmp_path / "kept")
    with Index(py_project, config) as index:
        index.build()
        before = index.stats()
    with Index(py_project, config) as index:
        stats = index.build()
        assert stats.parsed == 0 and stats.unchanged == 6
        assert index.stats() | {"index_bytes": 0} == before | {"index_bytes": 0}
        assert index.store.integrity_ok()


def test_schema_version_change_rebuilds(py_project, tmp_path):
    config = IndexConfig(index_dir=tmp_path / "old")
    with Index(py_project, config) as index:
        index.build()
    store = Store(tmp_path / "old" / "index.sqlite")
    store._db.execute(f"PRAGMA user_version={SCHEMA_VERSION - 1}")
    store.close()
    with Index(py_project, config) as index:
        assert index.store.totals()["files"] == 0
        assert index.build().parsed == 6


def test_buffer_overlay_wins_over_disk_and_closing_restores_disk(py_project, make_index):
    index = make_index(py_project)
    index.build()
    path = "src/shop/pricing.py"
    disk = (py_project / path).read_text()
    edited = disk.replace("def total(", "def grand_total(")
    assert index.update(str(py_project / path), edited)
    names = {d.definition.name for d in index.definitions(path)}
    assert "grand_total" in names and "total" not in names
    assert (py_project / path).read_text() == disk  # nothing written
    # a rebuild from disk must not clobber the open buffer
    index.build()
    assert "grand_total" in {d.definition.name for d in index.definitions(path)}
    # several incremental edits in a row stay consistent with a fresh parse
    for step in range(5):
        edited = edited.replace("grand_total", f"total_{step}") if step == 0 else edited.replace(
            f"total_{step - 1}", f"total_{step}"
        )
        index.update(path, edited)
    assert "total_4" in {d.definition.name for d in index.definitions(path)}
    index.close_buffer(path)
    assert "total" in {d.definition.name for d in index.definitions(path)}


def test_buffer_edits_keep_resolved_imports_and_follow_changed_ones(py_project, make_index):
    index = make_index(py_project)
    index.build()
    path = "src/shop/pricing.py"
    disk = (py_project / path).read_text()
    assert [row.targets for row in index.imports_of(path)] == [("src/shop/models.py",)]
    index.update(path, disk + "\n\ndef more(cart):\n    return total(cart) + 1\n")  # imports untouched
    assert [row.targets for row in index.imports_of(path)] == [("src/shop/models.py",)]
    index.update(path, "from .util import text\n" + disk)  # an import added above the others
    assert [(row.line, row.targets) for row in index.imports_of(path)] == [
        (1, ("src/shop/util/text.py",)),  # the imported name is a submodule
        (2, ("src/shop/models.py",)),
    ]
    assert [row.name for row in index.imports_of(path)] == ["text", "Cart"]
    assert path in index.dependents("src/shop/util/text.py")


def test_overlay_of_new_unsaved_file_joins_the_graph(py_project, make_index):
    index = make_index(py_project)
    index.build()
    index.update("src/shop/extra.py", "from .models import Item\n\ndef cheap(i: Item):\n    return i.price < 1\n")
    assert "src/shop/extra.py" in index.dependents("src/shop/models.py")
    assert not (py_project / "src/shop/extra.py").exists()


def test_update_rejects_paths_outside_the_workspace(py_project, make_index, tmp_path):
    index = make_index(py_project)
    index.build()
    outside = tmp_path / "elsewhere.py"
    outside.write_text("x = 1\n")
    assert not index.update(str(outside), "x = 2\n")
    assert not index.update("../elsewhere.py", "x = 2\n")
    assert not index.update("README.md", "# not code\n")
    assert index.store.file("../elsewhere.py") is None


def test_refresh_handles_created_changed_and_deleted_files(py_project, make_index):
    index = make_index(py_project)
    index.build()
    new = py_project / "src/shop/tax.py"
    new.write_text("from .pricing import total\n\nRATE = 0.2\n")
    index.refresh([str(new)])
    assert "src/shop/tax.py" in index.dependents("src/shop/pricing.py")
    new.unlink()
    index.refresh(["src/shop/tax.py"])
    assert index.store.file("src/shop/tax.py") is None
    assert "src/shop/tax.py" not in index.dependents("src/shop/pricing.py")


def test_cold_build_with_worker_processes_matches_in_process_build(tmp_path, make_index):
    from tests.conftest import write_tree

    files = {
        f"pkg/mod_{i}.py": f"from .mod_{(i + 1) % 40} import f_{(i + 1) % 40}\n\n\ndef f_{i}(x):\n    return x + {i}\n"
        for i in range(40)
    }
    files["pkg/__init__.py"] = ""
    root = write_tree(tmp_path / "many", files)
    pooled = make_index(root, jobs=2)
    single = make_index(root, jobs=1)
    assert pooled.build().parsed == single.build().parsed == 41
    assert pooled.stats() | {"index_bytes": 0} == single.stats() | {"index_bytes": 0}
    assert pooled.store.dependency_edges() == single.store.dependency_edges()
    assert len(pooled.store.dependency_edges()) == 40


@pytest.mark.parametrize("with_skipped_file", [False, True])
def test_imports_resolved_while_workers_run_match_a_resolution_at_the_end(
    tmp_path, make_index, monkeypatch, with_skipped_file
):
    """The cold build resolves imports as batches land (here every 8 files); a file the walk found
    but the workers skipped (binary) makes it resolve everything again at the end instead."""
    from tests.conftest import write_tree

    files: dict[str, str | bytes] = {
        f"pkg/mod_{i}.py": f"from .mod_{(i + 3) % 40} import f_{(i + 3) % 40}\nfrom . import bad\n\n\ndef f_{i}(x):\n"
        f"    return x + {i}\n"
        for i in range(40)
    }
    files["pkg/__init__.py"] = ""
    if with_skipped_file:
        files["pkg/bad.py"] = b"\x00\x01binary\x00" * 10
    root = write_tree(tmp_path / "many", files)
    single = make_index(root, jobs=1)
    single.build()
    monkeypatch.setattr("indexer.index.COMMIT_EVERY", 8)
    full_resolutions = []
    resolve_all = Index._resolve_all
    monkeypatch.setattr(Index, "_resolve_all", lambda self: (full_resolutions.append(1), resolve_all(self))[1])
    pooled = make_index(root, jobs=2)
    stats = pooled.build()
    assert stats.parsed == 41 and stats.skipped.get("binary", 0) == int(with_skipped_file)
    assert len(full_resolutions) == int(with_skipped_file)
    for path in single.store.paths():
        assert [(r.line, r.module, r.name, r.targets) for r in pooled.imports_of(path)] == [
            (r.line, r.module, r.name, r.targets) for r in single.imports_of(path)
        ]
    assert pooled.store.dependency_edges() == single.store.dependency_edges()
    assert ("pkg/mod_0.py", "pkg/mod_3.py") in pooled.store.dependency_edges()
    pooled.update("pkg/extra.py", "from .mod_1 import f_1\n")  # the layout kept from the build is current
    assert "pkg/extra.py" in pooled.dependents("pkg/mod_1.py")


def test_index_dir_defaults_to_a_user_cache_folder_keyed_by_root(py_project, tmp_path, monkeypatch):
    from indexer import default_index_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = default_index_dir(py_project)
    assert first.is_relative_to(tmp_path / "cache")
    assert default_index_dir(py_project) == first
    assert default_index_dir(tmp_path) != first
    assert not first.is_relative_to(py_project)


def test_a_missing_root_is_a_clear_error(tmp_path):
    import pytest

    with pytest.raises(NotADirectoryError, match="nowhere"):
        Index(tmp_path / "nowhere", IndexConfig(index_dir=tmp_path / "i"))


def test_index_file_is_sqlite_in_wal_mode(py_project, make_index):
    index = make_index(py_project)
    index.build()
    mode = index.store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert Path(index.store.path).name == "index.sqlite"


def test_concurrent_buffer_updates_and_disk_refreshes_stay_consistent(py_project, make_index):
    import threading

    index = make_index(py_project)
    index.build()
    path = "src/shop/pricing.py"
    disk = (py_project / path).read_text()
    errors: list[BaseException] = []

    def typist(worker: int) -> None:
        try:
            for step in range(30):
                index.update(path, disk + f"\n\ndef typed_{worker}_{step}():\n    return {step}\n")
        except BaseException as error:  # surfaced below
            errors.append(error)

    def refresher() -> None:
        try:
            for _ in range(30):
                index.refresh(["src/shop/models.py", "src/shop/util/text.py"])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=typist, args=(n,)) for n in range(2)] + [threading.Thread(target=refresher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    final = disk + "\n\ndef final_one():\n    return 0\n"
    index.update(path, final)
    names = [d.definition.name for d in index.definitions(path)]
    assert names == ["__all__", "total", "final_one"]
    assert index.store.integrity_ok()


def test_from_package_import_submodule_means_the_module_even_if_it_defines_that_name(tmp_path, make_index):
    from tests.conftest import write_tree

    root = write_tree(
        tmp_path / "ws",
        {
            "pkg/__init__.py": "",
            "pkg/cli.py": "def load(): pass\n\ncli = object()\n",
            "pkg/app.py": "from . import cli\nfrom .cli import cli as group\n\ncli.load()\n",
        },
    )
    index = make_index(root)
    index.build()
    assert [(d.path, d.definition.qualified_name) for d in index.resolve("pkg/app.py", "cli.load")] == [
        ("pkg/cli.py", "load")
    ]
    assert [(d.path, d.definition.kind) for d in index.resolve("pkg/app.py", "group")] == [("pkg/cli.py", "variable")]


def test_rebuild_after_most_files_changed_takes_the_bulk_path_and_stays_exact(tmp_path, make_index):
    from tests.conftest import write_tree

    count = 600

    def module(i: int, prefix: str) -> str:
        following = (i + 1) % count
        return f"from m{following} import {prefix}{following}\n\ndef {prefix}{i}():\n    return {i}\n"

    root = write_tree(tmp_path / "ws", {f"m{i}.py": module(i, "f") for i in range(count)})
    index = make_index(root, jobs=2)
    assert index.build().parsed == count
    for i in range(count):  # every file now defines another name
        (root / f"m{i}.py").write_text(module(i, "g"))
    assert index.build().parsed == count
    fresh = make_index(root, jobs=1)
    fresh.build()
    assert index.stats() | {"index_bytes": 0} == fresh.stats() | {"index_bytes": 0}
    assert index.store.dependency_edges() == fresh.store.dependency_edges()
    assert [d.definition.name for d in index.search("f1", 5)] == []
    assert index.resolve("m1.py", "g2")[0].path == "m2.py"
