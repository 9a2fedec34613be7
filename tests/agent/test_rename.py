"""Whole-repo rename over real indexes of fixture repos, checked edit by edit."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from agent import RefactorError, apply_to_disk, prepare_rename, rename
from agent.refactor.occurrences import Finder
from agent.refactor.rename import validate_rename
from agent.refactor.target import find_target
from lsp_server.cli import main as cli_main
from tests.agent.refactor_fixtures import at, edits_of, open_fixture, snapshot, workspace_fixture

py = workspace_fixture("py")
ts = workspace_fixture("ts")


def test_python_function_through_imports_aliases_reexports_all_and_module_attributes(py):
    change = rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "double")
    assert edits_of(change) == [
        ("app.py", 2, 24, "double"),  # from pkg import Engine, helper  (through the package re-export)
        ("app.py", 11, 11, "double"),  # helper(4)
        ("app.py", 11, 27, "double"),  # pkg.helper(5)
        ("late.py", 2, 25, "double"),  # an import inside a function
        ("late.py", 4, 11, "double"),  # and its use there
        ("pkg/__init__.py", 1, 26, "double"),  # the re-export
        ("pkg/__init__.py", 3, 22, "double"),  # the __all__ entry
        ("pkg/api.py", 1, 18, "double"),  # `helper as helper` re-exports the name: both sides
        ("pkg/api.py", 1, 28, "double"),
        ("pkg/core.py", 4, 4, "double"),  # the definition
        ("pkg/core.py", 13, 15, "double"),  # a use in a method
        ("pkg/star.py", 3, 22, "double"),  # __all__ of a module re-exporting through `from .core import *`
        ("pkg/util.py", 1, 21, "double"),  # from pkg.core import helper as h: the alias stays
        ("pkg/util.py", 7, 32, "double"),  # core.helper(3)
    ]
    # not renamed: the parameter `helper` of util.run, the keyword argument `helper=`, the local
    # `helper` in app.shadowed, unrelated.helper with its call, and external.py's textwrap.helper
    assert not change.needs_confirmation


def test_rename_started_from_a_use_in_another_file_is_the_same_change(py):
    from_definition = rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "double")
    from_use = rename(py, "app.py", at(py, "app.py", 11, "helper"), "double")
    assert edits_of(from_use) == edits_of(from_definition)


def test_python_method_through_an_inferred_receiver_and_self(py):
    change = rename(py, "app.py", at(py, "app.py", 10, "start"), "launch")
    assert edits_of(change) == [("app.py", 10, 11, "launch"), ("pkg/core.py", 9, 8, "launch")]


def test_python_method_called_on_a_constructed_object(py):
    expected = [
        ("app.py", 11, 43, "advance"),  # E().step(): the receiver is a constructor call of Engine (as E)
        ("pkg/core.py", 10, 20, "advance"),  # self.step()
        ("pkg/core.py", 12, 8, "advance"),
    ]
    assert edits_of(rename(py, "pkg/core.py", at(py, "pkg/core.py", 12, "step"), "advance")) == expected
    assert edits_of(rename(py, "app.py", at(py, "app.py", 11, "step"), "advance")) == expected


def test_unrelated_same_named_definition_is_renamed_alone(py):
    change = rename(py, "unrelated.py", at(py, "unrelated.py", 1, "helper"), "zero")
    assert edits_of(change) == [("unrelated.py", 1, 4, "zero"), ("unrelated.py", 5, 4, "zero")]


def test_typescript_function_through_named_imports_namespaces_reexports_and_shorthand(ts):
    change = rename(ts, "src/math.ts", at(ts, "src/math.ts", 1, "scale"), "resize")
    assert edits_of(change) == [
        ("src/app.ts", 1, 9, "resize"),  # import { scale as grow }: the alias stays
        ("src/app.ts", 3, 9, "resize"),  # import { scale } from "./index" (a re-export)
        ("src/app.ts", 8, 24, "resize"),  # math.scale(2)
        ("src/app.ts", 8, 35, "resize"),  # scale(options.scale): the property stays
        ("src/app.ts", 15, 27, "scale: resize"),  # { scale } keeps its key
        ("src/index.ts", 1, 9, "resize"),  # export { scale } from "./math"
        ("src/math.ts", 1, 16, "resize"),
        ("src/math.ts", 8, 17, "resize"),
    ]
    # not renamed: the parameter of local(), the object key, and src/unrelated.js


def test_typescript_method_with_receivers_of_unknown_class_is_refused(ts):
    with pytest.raises(RefactorError, match="cannot be inferred"):
        rename(ts, "src/math.ts", at(ts, "src/math.ts", 7, "bump"), "increment")


@pytest.mark.parametrize(
    ("new_name", "message"),
    [
        ("class", "keyword"),
        ("1x", "not a Python identifier"),
        ("my-name", "not a Python identifier"),
        ("Engine", "already defined or imported"),
        ("dict", "already used in pkg/util.py:11"),
        ("helper", "already has that name"),
    ],
)
def test_bad_new_names_are_refused_with_the_reason(py, new_name, message):
    with pytest.raises(RefactorError, match=message):
        rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), new_name)


def test_typescript_reserved_words_are_refused(ts):
    with pytest.raises(RefactorError, match="reserved word"):
        rename(ts, "src/math.ts", at(ts, "src/math.ts", 1, "scale"), "delete")


def test_locals_and_parameters_are_not_rename_targets(py):
    with pytest.raises(RefactorError, match="not a definition of the workspace"):
        rename(py, "app.py", at(py, "app.py", 15, "helper"), "x")
    assert prepare_rename(py, "app.py", at(py, "app.py", 15, "helper")) is None
    target = prepare_rename(py, "app.py", at(py, "app.py", 11, "helper"))
    assert (target.name, target.range.start.line, target.range.start.column) == ("helper", 10, 11)


def test_a_change_missing_one_reference_fails_validation(py):
    finder = Finder(py)
    _, target = find_target(finder, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"))
    sites = finder.sites(target)
    complete = rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "double")
    app = next(f for f in complete.files if f.path == "app.py")
    partial = dataclasses.replace(
        complete,
        files=tuple(dataclasses.replace(f, edits=f.edits[:1]) if f is app else f for f in complete.files),
    )
    with pytest.raises(RefactorError, match="validation failed"):
        validate_rename(py, partial, target, sites)


def test_a_change_that_breaks_syntax_is_refused_and_nothing_is_written(py):
    complete = rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "double")
    broken = dataclasses.replace(
        complete,
        files=tuple(
            dataclasses.replace(f, edits=tuple(dataclasses.replace(e, new_text="(") for e in f.edits))
            for f in complete.files
        ),
    )
    finder = Finder(py)
    _, target = find_target(finder, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"))
    before = snapshot(py)
    with pytest.raises(RefactorError, match="break the syntax"):
        validate_rename(py, broken, target, finder.sites(target))
    assert snapshot(py) == before


def test_apply_to_disk_writes_every_file_and_reindexes(py):
    change = rename(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "double")
    (py.root / "pkg/core.py").chmod(0o640)
    written = apply_to_disk(py, change)
    assert sorted(written) == [
        "app.py",
        "late.py",
        "pkg/__init__.py",
        "pkg/api.py",
        "pkg/core.py",
        "pkg/star.py",
        "pkg/util.py",
    ]
    assert "def double(value):" in (py.root / "pkg/core.py").read_text()
    assert (py.root / "pkg/core.py").stat().st_mode & 0o777 == 0o640
    assert not list(py.root.rglob("*.wholerepo"))
    assert [d.definition.name for d in py.index.definitions("pkg/core.py")][0] == "double"
    result = subprocess.run(
        [sys.executable, "-c", "import app; print(app.main())"], cwd=py.root, capture_output=True, text=True
    )
    assert result.stdout.strip() == "20", result.stderr


def test_cli_rename_prints_a_diff_or_json_and_applies_only_with_apply(py, tmp_path, capsys):
    before = snapshot(py)
    args = [str(py.root), "pkg/core.py:4:5", "double", "--index-dir", str(tmp_path / "cli-index")]
    assert cli_main(["rename", *args]) == 0
    out = capsys.readouterr().out
    assert "Rename 'helper' to 'double': 14 edit(s) in 7 file(s)" in out
    assert (
        "-    return helper(4) + pkg.helper(5) + E().step()\n+    return double(4) + pkg.double(5) + E().step()" in out
    )
    assert snapshot(py) == before
    assert cli_main(["rename", *args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["applied"] is False and len(payload["files"]) == 7
    assert cli_main(["rename", *args, "--apply"]) == 0
    assert "def double(value):" in (py.root / "pkg/core.py").read_text()


def test_cli_reports_refusals_as_one_line(py, tmp_path, capsys):
    code = cli_main(["rename", str(py.root), "pkg/core.py:4:5", "class", "--index-dir", str(tmp_path / "i")])
    assert code == 2
    assert capsys.readouterr().err.strip() == "wholerepo: 'class' is a Python keyword"


def test_import_of_a_submodule_binds_the_package(tmp_path):
    """`import pkg.core` binds `pkg`, so `pkg.helper` is the package's re-export of the symbol."""
    with open_fixture(tmp_path, "dotted") as ws:
        change = rename(ws, "pkg/core.py", at(ws, "pkg/core.py", 1, "helper"), "double")
        assert edits_of(change) == [
            ("pkg/__init__.py", 1, 18, "double"),
            ("pkg/core.py", 1, 4, "double"),
            ("use.py", 3, 12, "double"),
            ("use.py", 3, 33, "double"),
        ]
