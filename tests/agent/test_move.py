"""Moving a top-level Python definition to another module, checked as whole file texts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent import RefactorError, apply_to_disk, move_definition
from agent.refactor.validate import proposed_texts
from tests.agent.refactor_fixtures import at, snapshot, workspace_fixture

py = workspace_fixture("py")


def test_move_to_a_new_module_rewrites_importers_and_imports_back_into_the_source(py):
    change = move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "pkg/tools.py")
    assert change.label == "Move 'helper' to pkg/tools.py"
    assert [f.path for f in change.files if f.create] == ["pkg/tools.py"]
    texts = {path: after for path, (_, after) in proposed_texts(py, change).items()}
    assert texts == {
        "pkg/tools.py": "def helper(value):\n    return value * 2\n",
        "pkg/core.py": '"""The core: a helper and an engine that uses it."""\n'
        "from pkg.tools import helper\n\n\n"
        "class Engine:\n    def start(self):\n        return self.step()\n\n"
        "    def step(self):\n        return helper(1)\n",
        "pkg/__init__.py": 'from .core import Engine\nfrom pkg.tools import helper\n\n__all__ = ["Engine", "helper"]\n',
        "pkg/api.py": "from pkg.tools import helper as helper\n",
        "late.py": "def late():\n    from pkg.tools import helper\n\n    return helper(6)\n",
        "pkg/util.py": "from pkg.tools import helper as h\n\nfrom . import core\nimport pkg.tools\n\n\n"
        "def run(helper):\n    return helper + h(2) + pkg.tools.helper(3)\n\n\n"
        "def call(x=1):\n    return dict(helper=x)\n",
    }
    # app.py imports `helper` through the package, which still re-exports it: untouched
    assert "app.py" not in texts


def test_moved_code_runs_the_same_after_apply(py):
    expected = subprocess.run(
        [sys.executable, "-c", "import app, pkg.util; print(app.main(), pkg.util.run(1))"],
        cwd=py.root,
        capture_output=True,
        text=True,
    )
    change = move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), "pkg/tools.py")
    apply_to_disk(py, change)
    after = subprocess.run(
        [sys.executable, "-c", "import app, pkg.util; print(app.main(), pkg.util.run(1))"],
        cwd=py.root,
        capture_output=True,
        text=True,
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout == expected.stdout == "20 11\n"


def test_moving_code_that_uses_a_definition_staying_behind_is_refused(py):
    with pytest.raises(RefactorError, match="'Engine' uses 'helper', which stays in pkg/core.py"):
        move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 8, "Engine"), "pkg/engine.py")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pkg/util.py", "imports 'helper' as 'h'"),
        ("app.py", "already defines or imports 'helper'"),
        ("pkg/core.py", "already in that module"),
        ("src/x.ts", "Python modules"),
    ],
)
def test_refusals_say_why_and_write_nothing(py, target, message):
    before = snapshot(py)
    with pytest.raises(RefactorError, match=message):
        move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 4, "helper"), target)
    assert snapshot(py) == before


def test_only_top_level_definitions_move(py):
    with pytest.raises(RefactorError, match="top-level definition"):
        move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 9, "start"), "pkg/tools.py")


def test_the_comment_above_a_definition_moves_with_it(py):
    core = py.root / "pkg/core.py"
    core.write_text(core.read_text().replace("def helper(", "# Doubles.\n# Always.\ndef helper("))
    py.build_index()
    change = move_definition(py, "pkg/core.py", at(py, "pkg/core.py", 6, "helper"), "pkg/tools.py")
    texts = {path: after for path, (_, after) in proposed_texts(py, change).items()}
    assert texts["pkg/tools.py"] == "# Doubles.\n# Always.\ndef helper(value):\n    return value * 2\n"
    assert "Doubles" not in texts["pkg/core.py"]
