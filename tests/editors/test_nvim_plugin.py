"""The Neovim plugin (editors/nvim) in a real headless Neovim against the real `wholerepo serve`.

tests/editors/nvim_driver.lua types through Neovim's typeahead, so insert mode, autocommands and the
<Tab> mapping run as they do for a user; the model is the scripted OpenAI-compatible stub server,
reached by the server through the openai backend configured in initializationOptions.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.editors.nvim_binary import find_nvim
from tests.engine.openai_stub_server import Reply, StubServer, chat_chunk, completion_chunk

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "nvim"
DRIVER = Path(__file__).with_name("nvim_driver.lua")
FIXTURE = REPO / "tests" / "fixtures" / "editors" / "rooms"
MODEL = "qwen2.5-coder-7b"

pytestmark = pytest.mark.asyncio


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "rooms"
    shutil.copytree(FIXTURE, root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


async def drive(nvim: str, workspace: Path, stub: StubServer, scenario: str, **settings: object) -> dict:
    """Runs one scenario of the driver in headless Neovim; returns what it recorded."""
    results = workspace.parent / f"{scenario}-results.json"
    config = workspace.parent / f"{scenario}-config.json"
    config.write_text(
        json.dumps(
            {
                "plugin": str(PLUGIN),
                "python": sys.executable,
                "workspace": str(workspace),
                "backend": {"kind": "openai", "url": stub.url, "model": MODEL},
                "scenario": scenario,
                "results": str(results),
                **settings,
            }
        )
    )
    env = {**os.environ, "WHOLEREPO_NVIM_TEST": str(config), "PYTHONPATH": str(REPO)}
    env["XDG_CACHE_HOME"] = str(workspace.parent / "cache")  # the server's index, not in the user's cache
    process = await asyncio.create_subprocess_exec(
        nvim,
        "--headless",
        "--clean",
        "-c",
        f"luafile {DRIVER}",
        cwd=workspace,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert results.exists(), f"the driver wrote no results; nvim said:\n{output.decode(errors='replace')[-3000:]}"
    recorded = json.loads(results.read_text())
    assert recorded.get("error") is None, recorded
    assert recorded.get("setup_ok") and recorded.get("attached") and recorded.get("done"), recorded
    return recorded


async def test_ghost_text_appears_and_tab_accepts_it(workspace: Path) -> None:
    nvim = find_nvim()
    async with StubServer() as stub:
        # The model continues from the cursor; each keystroke may ask once.
        stub.script("/v1/completions", *[Reply.sse(completion_chunk("angle_area(width, height)"))] * 20)
        result = await drive(nvim, workspace, stub, "complete", file="rooms.py", line=8, typed="rect")
        prompts = json.dumps(stub.bodies("/v1/completions"))
    assert result["registration"] == "vim.lsp.enable"
    assert result["server_ready"] is True
    assert result["statusline"] == f"wholerepo: openai {MODEL} ready · ready"
    assert result["ghost_shown"], result
    assert result["mode"] == "i"
    assert result["ghost_text"] == "angle_area(width, height)"
    assert result["extmark_text"] == "angle_area(width, height)"
    assert result["dismissed"] is True
    assert result["ghost_again"] is True
    assert result["line_after_accept"] == "        total += rectangle_area(width, height)"
    assert result["cursor_after_accept"] == [8, len("        total += rectangle_area(width, height)")]
    # The server packed the imported definition from the other file into the prompt.
    assert "Area of a width x height rectangle" in prompts
    # :WholerepoContext shows that pack in a split.
    assert result["context_filetype"] == "markdown"
    assert result["context_text"].startswith("# Context of the last completion")
    assert re.search(r"`geometry\.py:\d+-\d+`", result["context_text"]), result["context_text"]


async def test_ghost_text_through_the_vim_lsp_start_fallback(workspace: Path) -> None:
    """Neovim 0.9/0.10 have no vim.lsp.config/enable; the plugin then starts the client itself."""
    nvim = find_nvim()
    async with StubServer() as stub:
        stub.script("/v1/completions", *[Reply.sse(completion_chunk("angle_area(width, height)"))] * 20)
        result = await drive(
            nvim, workspace, stub, "complete", file="rooms.py", line=8, typed="rect", without_lsp_config=True
        )
    assert result["registration"] == "FileType autocommand"
    assert result["ghost_text"] == "angle_area(width, height)"
    assert result["line_after_accept"] == "        total += rectangle_area(width, height)"


def _block(search: str, replace: str) -> Reply:
    """A chat reply holding one search/replace block (the model-driven refactor's format)."""
    text = f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"
    return Reply.sse(chat_chunk(text), chat_chunk(finish="stop"))


async def test_refactor_applies_a_multi_file_edit(workspace: Path) -> None:
    nvim = find_nvim()
    signature = "(width: float, height: float) -> float:"
    async with StubServer() as stub:
        stub.script(
            "/v1/chat/completions",
            Reply.sse(chat_chunk("FILE: geometry.py\nFILE: rooms.py"), chat_chunk(finish="stop")),
            _block(f"def rectangle_area{signature}", f"def rect_area{signature}"),
            _block("from geometry import rectangle_area", "from geometry import rect_area"),
        )
        result = await drive(
            nvim,
            workspace,
            stub,
            "refactor",
            file="geometry.py",
            line=4,
            col=6,
            instruction="rename rectangle_area to rect_area",
            files=["geometry.py", "rooms.py"],
        )
        asked = json.dumps(stub.bodies("/v1/chat/completions"))
    assert result["files_changed"] == 2, result
    geometry, rooms = result["after"]["geometry.py"], result["after"]["rooms.py"]
    assert f"def rect_area{signature}" in geometry.split("\n")
    assert "rectangle_area" not in geometry
    assert rooms.split("\n")[0] == "from geometry import rect_area"
    # Only the buffers changed; saving is the user's decision.
    assert "def rectangle_area" in (workspace / "geometry.py").read_text()
    assert "rename rectangle_area to rect_area" in asked


async def test_explain_opens_a_floating_window_with_the_explanation(workspace: Path) -> None:
    nvim = find_nvim()
    narrative = "`rectangle_area` (geometry.py:4) multiplies width by height; rooms.py:1 imports it."
    async with StubServer() as stub:
        stub.script("/v1/chat/completions", Reply.sse(chat_chunk(narrative), chat_chunk(finish="stop")))
        result = await drive(nvim, workspace, stub, "explain", file="rooms.py", line=1, col=22)
        asked = json.dumps(stub.bodies("/v1/chat/completions"))
    assert result["float_is_floating"] is True
    assert result["floating_windows"] == 1
    assert "multiplies width by height" in result["float_text"]
    assert "geometry.py:4" in result["float_text"]
    assert "def rectangle_area" in asked  # the definition's code went to the model


async def test_checkhealth_reports_the_setup(workspace: Path) -> None:
    nvim = find_nvim()
    async with StubServer() as stub:
        result = await drive(nvim, workspace, stub, "health", file="rooms.py")
        url = stub.url
    health = result["health"]
    assert re.search(r"OK Neovim \d+\.\d+\.\d+: ", health)
    assert f"OK {sys.executable} imports lsp_server" in health
    assert f"OK backend: openai {MODEL} at {url}" in health
    assert re.search(r"OK client \d+ running, root .*rooms", health)
    assert "ERROR" not in health
