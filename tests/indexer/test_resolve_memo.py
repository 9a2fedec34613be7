"""Shared answers of import resolution: imports alike in everything their resolver reads are
resolved once per layout (``index.import_targets``); each must get what resolving it alone gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.index import import_targets
from indexer.resolve import RepoLayout
from tests.conftest import PY_PROJECT, write_tree

FIXTURE_REPOS = Path(__file__).parent.parent / "fixtures" / "repos"

Row = tuple  # as Store.imports_to_resolve returns them


def row(import_id: int, importer: str, language: str, module: str, name: str | None = None) -> Row:
    return (import_id, importer, language, module, 1, name, None, 0)


def read_config(root: Path, rel: str) -> str | None:
    path = root / rel
    return path.read_text() if path.is_file() else None


def one_by_one(files: frozenset[str], read_text, rows: list[Row]) -> dict[int, tuple[str, ...]]:
    """Each row resolved with a layout of its own: nothing shared between rows."""
    return {r[0]: import_targets(RepoLayout(files=files, read_text=read_text), [r])[r[0]] for r in rows}


def assert_shared_answers_match(files: frozenset[str], read_text, rows: list[Row]) -> dict[int, tuple[str, ...]]:
    expected = one_by_one(files, read_text, rows)
    for ordered in (rows, rows[::-1]):  # whichever row fills the shared answer first
        assert import_targets(RepoLayout(files=files, read_text=read_text), ordered) == expected
    return expected


@pytest.mark.parametrize("repo", ["python", *sorted(p.name for p in FIXTURE_REPOS.iterdir())])
def test_every_import_of_the_fixture_repos_gets_its_own_answer(repo, tmp_path, make_index):
    root = write_tree(tmp_path / "shop", PY_PROJECT) if repo == "python" else FIXTURE_REPOS / repo
    index = make_index(root, jobs=1)
    index.build()
    rows = index.store.imports_to_resolve()
    assert rows
    files = frozenset(index.store.paths())
    expected = assert_shared_answers_match(files, lambda rel: read_config(root, rel), rows)
    assert any(expected.values())
    # the build stored the same answers
    stored = {r.id: r.targets for path in index.store.paths() for r in index.imports_of(path)}
    assert {i: tuple(sorted(t)) for i, t in expected.items()} == stored


def layout_of(*files: str, configs: dict[str, str] | None = None) -> tuple[frozenset[str], object]:
    texts = dict.fromkeys(files, "") | (configs or {})
    return frozenset(files), texts.get


def assert_told_apart(files, read_text, first: Row, second: Row) -> None:
    """Two imports that differ in one thing their resolver reads, and resolve differently."""
    expected = assert_shared_answers_match(files, read_text, [first, second])
    assert expected[first[0]] != expected[second[0]]


def test_importers_in_different_directories_are_told_apart():
    files, read = layout_of("a/run.py", "a/helper.py", "b/run.py", "b/helper.py", "p/__init__.py", "p/m.py", "q/m.py")
    assert_told_apart(files, read, row(1, "a/run.py", "python", "helper"), row(2, "b/run.py", "python", "helper"))
    assert_told_apart(files, read, row(1, "p/__init__.py", "python", ".m"), row(2, "q/x.py", "python", ".m"))
    files, read = layout_of("a/x.ts", "a/util.ts", "b/x.ts", "b/util.ts", "a/u.h", "b/u.h", "a/x.c", "b/x.c")
    assert_told_apart(files, read, row(1, "a/x.ts", "typescript", "./util"), row(2, "b/x.ts", "typescript", "./util"))
    assert_told_apart(files, read, row(1, "a/x.c", "c", '"u.h"'), row(2, "b/x.c", "c", '"u.h"'))


def test_rust_importers_in_one_directory_are_told_apart():
    """``self::x`` in a crate root is ``src/x.rs``, in ``src/a.rs`` it is ``src/a/x.rs``."""
    files, read = layout_of("src/lib.rs", "src/a.rs", "src/x.rs", "src/a/x.rs")
    assert_told_apart(files, read, row(1, "src/lib.rs", "rust", "self::x"), row(2, "src/a.rs", "rust", "self::x"))


def test_go_importers_in_one_directory_are_told_apart():
    """A module path declared twice goes to the go.mod closest to the importer's whole path."""
    go_mod = "module example.com/m\n"
    files, read = layout_of(
        "p/main.go", "p/util.go", "p/main.go/lib/a.go", "p/util.go/lib/b.go",
        configs={"p/main.go/go.mod": go_mod, "p/util.go/go.mod": go_mod},
    )  # fmt: skip
    assert_told_apart(
        files, read, row(1, "p/main.go", "go", "example.com/m/lib"), row(2, "p/util.go", "go", "example.com/m/lib")
    )


def test_imported_names_and_languages_are_told_apart():
    files, read = layout_of("pkg/__init__.py", "pkg/a.py", "pkg/b.py", "main.py", "src/main.c", "src/util.h")
    assert_told_apart(files, read, row(1, "main.py", "python", "pkg", "a"), row(2, "main.py", "python", "pkg", "b"))
    assert_told_apart(files, read, row(1, "main.py", "python", "pkg", "a"), row(2, "main.py", "python", "pkg"))
    assert_told_apart(files, read, row(1, "src/main.c", "c", '"util.h"'), row(2, "src/main.c", "python", '"util.h"'))


def test_java_answers_do_not_depend_on_the_importer():
    files, read = layout_of("src/a/b/C.java", "x/Y.java", "z/deep/W.java")
    rows = [row(1, "x/Y.java", "java", "a.b.C"), row(2, "z/deep/W.java", "java", "a.b.C")]
    assert assert_shared_answers_match(files, read, rows) == {1: ("src/a/b/C.java",), 2: ("src/a/b/C.java",)}
