"""The ``wholerepo`` CLI as outside tools call it: a real subprocess, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def wholerepo(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_index_prints_counts_and_time_then_reuses_the_index(py_project, tmp_path):
    first = wholerepo("index", py_project, "--index-dir", tmp_path / "idx")
    assert first.returncode == 0, first.stderr
    assert "indexed 6 files in" in first.stdout and "6 parsed" in first.stdout
    assert (tmp_path / "idx" / "index.sqlite").exists()
    second = wholerepo("index", py_project, "--index-dir", tmp_path / "idx", "--json")
    summary = json.loads(second.stdout)
    assert summary["build"]["parsed"] == 0 and summary["build"]["unchanged"] == 6
    assert summary["index"]["definitions"] > 10


def test_symbols_finds_definitions(py_project, tmp_path):
    result = wholerepo("symbols", py_project, "Car", "--index-dir", tmp_path / "idx", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found[0]["qualified_name"] == "Cart" and found[0]["path"] == "src/shop/models.py"
    text = wholerepo("symbols", py_project, "total", "--index-dir", tmp_path / "idx").stdout
    assert "src/shop/pricing.py:7:5  function  total  def total(cart: Cart, discount: float = 0.0) -> float" in text


def test_deps_lists_imports_and_importers(py_project, tmp_path):
    result = wholerepo("deps", py_project, "src/shop/pricing.py", "--index-dir", tmp_path / "idx", "--json")
    assert result.returncode == 0, result.stderr
    deps = json.loads(result.stdout)
    assert deps["imports"] == [{"line": 1, "module": ".models", "targets": ["src/shop/models.py"]}]
    assert {i["path"] for i in deps["importers"]} == {"src/shop/__init__.py", "src/shop/util/text.py"}


def test_bad_input_is_one_clear_line_and_exit_status_2(py_project, tmp_path):
    missing = wholerepo("index", tmp_path / "missing", "--index-dir", tmp_path / "idx")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"wholerepo: not a directory: {tmp_path / 'missing'}"
    outside = wholerepo("deps", py_project, "/etc/passwd", "--index-dir", tmp_path / "idx")
    assert outside.returncode == 2 and "outside the workspace" in outside.stderr
    unknown = wholerepo("deps", py_project, "nope.py", "--index-dir", tmp_path / "idx")
    assert unknown.returncode == 2 and "not an indexed file" in unknown.stderr
    assert "Traceback" not in missing.stderr + outside.stderr + unknown.stderr
