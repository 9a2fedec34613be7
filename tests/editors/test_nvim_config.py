"""The Neovim plugin's option checks and registration, in real headless Neovim, without a server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.editors.nvim_binary import find_nvim

PLUGIN = Path(__file__).resolve().parents[2] / "editors" / "nvim"
CHECK = Path(__file__).with_name("nvim_config_check.lua")


@pytest.fixture(scope="module")
def result() -> dict:
    """One Neovim run checks everything; each test reads its part."""
    done = subprocess.run(
        [find_nvim(), "--clean", "-l", str(CHECK), str(PLUGIN)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_bad_options_fail_setup_naming_the_option(result: dict) -> None:
    for error in result["errors"]:
        assert error["ok"] is False, error
        assert error["message"].startswith(f"wholerepo: option {error['option']} "), error


def test_server_command_and_initialization_options(result: dict) -> None:
    assert result["default_command"] == ["wholerepo", "serve", "--stdio"]
    assert result["python_command"] == ["/venv/bin/python", "-m", "lsp_server.cli", "serve", "--stdio"]
    assert result["explicit_command"] == ["/x/wholerepo", "serve"]
    assert result["init_options"] == {
        "backend": {"kind": "openai", "url": "http://127.0.0.1:8000/v1", "model": "qwen", "api_key_env": "KEY_VAR"},
        "budgets": {"context_tokens": 4096, "max_tokens": 128},
        "features": {
            "inline_completion": True,
            "completion": True,
            "hover": True,
            "code_lens": False,
            "diagnostics": True,
            "review": False,
            "refactor": True,
        },
    }
    assert result["local_init_options"]["backend"] == {"kind": "local"}


def test_setup_registers_the_server_and_the_commands(result: dict) -> None:
    assert result["registered_cmd"] == ["wholerepo-not-installed", "serve"]
    assert result["registered_inline_capability"] is True
    assert result["enabled"] is True
    assert result["commands"] == {"WholerepoRefactor": True, "WholerepoExplain": True, "WholerepoContext": True}
