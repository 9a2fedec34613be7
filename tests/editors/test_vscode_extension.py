"""The VS Code extension's own tests (editors/vscode), run from pytest so `make test` covers them.

`npm ci` installs the locked dependencies on a fresh clone (node_modules is not in git), then
`npm test` compiles with tsc and runs Node's test runner: unit tests of the pure modules and the
end-to-end test that drives the real `wholerepo serve` through vscode-languageserver-protocol.
Without node and npm the test is skipped, and says so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def _npm_ci_needed() -> bool:
    installed = EXTENSION / "node_modules" / ".package-lock.json"
    lock = EXTENSION / "package-lock.json"
    return not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WHOLEREPO_PYTHON": sys.executable, "NO_COLOR": "1"}
    return subprocess.run(command, cwd=EXTENSION, env=env, capture_output=True, text=True, check=False)


def test_extension_unit_and_end_to_end() -> None:
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("SKIPPED the VS Code extension's tests: node and npm are not installed")
    if _npm_ci_needed():
        installed = _run(npm, "ci", "--no-audit", "--no-fund")
        assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout[-4000:]}\n{installed.stderr[-4000:]}"
    result = _run(npm, "test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"npm test failed:\n{output[-12000:]}"
    counts = {name: int(count) for name, count in re.findall(r"^# (pass|fail|skipped|todo) (\d+)$", output, re.M)}
    assert counts.get("fail") == 0 and counts.get("skipped") == 0 and counts.get("pass", 0) >= 10, output[-4000:]
