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


def test_pack_prints_the_designed_json(py_project, tmp_path):
    result = wholerepo(
        "pack",
        py_project,
        "--pos",
        "src/shop/util/text.py:7:38",
        "--budget",
        "300",
        "--json",
        "--index-dir",
        tmp_path / "idx",
    )
    assert result.returncode == 0, result.stderr
    pack = json.loads(result.stdout)
    assert pack["budget"] == 300 and 0 < pack["tokens"] <= 300
    assert pack["tokens"] == sum(item["tokens"] for item in pack["items"])
    first = pack["items"][0]
    assert set(first) == {"path", "start_line", "end_line", "tokens", "reason"}
    assert (first["path"], first["start_line"]) == ("src/shop/pricing.py", 7)  # `pricing.total(`
    assert "total" in first["reason"]


def test_pack_buffer_overrides_the_disk(py_project, tmp_path):
    buffer = tmp_path / "unsaved.py"
    text = (py_project / "src/shop/util/text.py").read_text()
    edited = text.replace("pricing.total(cart)", "m.Item(")
    buffer.write_text(edited)
    col = len(edited.split("\n")[6].split("m.Item(")[0] + "m.Item(") + 1
    result = wholerepo(
        "pack",
        py_project,
        "--pos",
        f"src/shop/util/text.py:7:{col}",
        "--budget",
        "300",
        "--json",
        "--buffer",
        buffer,
        "--index-dir",
        tmp_path / "idx",
    )
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout)["items"][0]
    assert first["path"] == "src/shop/models.py" and "Item" in first["reason"]


def test_pack_rejects_bad_positions_and_strategies(py_project, tmp_path):
    for pos in ("src/shop/util/text.py:99:1", "nowhere.py:1:1", "src/shop/util/text.py:x:1", "../up.py:1:1"):
        result = wholerepo("pack", py_project, "--pos", pos, "--budget", "100", "--index-dir", tmp_path / "idx")
        assert result.returncode == 2 and result.stderr.startswith("wholerepo: "), (pos, result.stderr)
    result = wholerepo(
        "pack",
        py_project,
        "--pos",
        "src/shop/util/text.py:7:1",
        "--budget",
        "100",
        "--strategy",
        "magic",
        "--index-dir",
        tmp_path / "idx",
    )
    assert result.returncode == 2 and "unknown strategy" in result.stderr


def test_eval_context_prints_recall_per_strategy_and_writes_json(py_project, tmp_path):
    line = (py_project / "src/shop/util/text.py").read_text().split("\n")[6]
    prefix = line[: line.index("pricing.total(") + len("pricing.total(")]
    case = {
        "id": "shop-1",
        "package": "shop==0",
        "root": str(py_project),
        "file": "src/shop/util/text.py",
        "line": 7,
        "col": len(prefix) + 1,
        "variant": "call",
        "kind": "attr",
        "line_prefix": prefix,
        "target": 'cart)}"',
        "gold": [{"path": "src/shop/pricing.py", "start_line": 7, "end_line": 8, "def_line": 7}],
    }
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(case) + "\n")
    out = tmp_path / "result.json"
    result = wholerepo(
        "eval-context",
        cases,
        "--budget",
        "512",
        "--strategy",
        "default",
        "--strategy",
        "imports",
        "--out",
        out,
        "--index-dir",
        tmp_path / "idx",
    )
    assert result.returncode == 0, result.stderr
    assert "default        512  1.000" in result.stdout
    written = json.loads(out.read_text())
    assert written["strategies"]["default"]["512"]["recall"] == 1.0
    assert set(written["strategies"]) == {"default", "imports"}
