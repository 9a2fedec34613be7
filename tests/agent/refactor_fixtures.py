"""Shared helpers for the agent tests: a built workspace over a copy of a fixture repo, positions
by 1-based line and needle, edits as comparable tuples."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent import Position, Workspace, WorkspaceChange, WorkspaceSettings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "refactor"


def workspace_copy(tmp_path: Path, name: str, fixtures: Path = FIXTURES) -> Workspace:
    """A built workspace over a copy of ``fixtures/name`` (a copy, so tests may edit files and buffers)."""
    root = tmp_path / name
    shutil.copytree(fixtures / name, root)
    ws = Workspace(root, WorkspaceSettings(index_dir=tmp_path / f"index-{name}", jobs=1))
    ws.build_index()
    return ws


def workspace_fixture(name: str, fixtures: Path = FIXTURES):
    """A pytest fixture named ``name`` yielding ``open_fixture(tmp_path, name)``, closed afterwards."""

    @pytest.fixture(name=name)
    def fixture(tmp_path):
        with workspace_copy(tmp_path, name, fixtures) as ws:
            yield ws

    return fixture


open_fixture = workspace_copy


def at(ws: Workspace, path: str, line: int, needle: str) -> Position:
    """The position of ``needle`` on a 1-based line."""
    text = ws.index.source_text(path).split("\n")[line - 1]
    return Position(line - 1, text.index(needle))


def edits_of(change: WorkspaceChange) -> list[tuple[str, int, int, str]]:
    """(path, 1-based line, 0-based column, new text) for every edit, sorted."""
    return sorted(
        (f.path, e.range.start.line + 1, e.range.start.column, e.new_text) for f in change.files for e in f.edits
    )


def snapshot(ws: Workspace) -> dict[str, str]:
    return {str(p.relative_to(ws.root)): p.read_text() for p in sorted(ws.root.rglob("*")) if p.is_file()}
