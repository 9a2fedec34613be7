"""Writing a WorkspaceChange to disk, all files or none, for the command line.

Every new text is computed and checked first; then each file is written to a temporary file in its
own folder and renamed over the original (keeping its permissions), so a crash leaves each file
either old or new, never half-written.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path

from ..edits import WorkspaceChange
from ..workspace import Workspace
from .errors import RefactorError
from .validate import proposed_texts


def apply_to_disk(ws: Workspace, change: WorkspaceChange) -> list[str]:
    """Write the change under ``ws.root``; returns the paths written. RefactorError before any write
    when a path leaves the workspace or an edit does not fit."""
    targets = {}
    for file in change.files:
        target = (ws.root / file.path).resolve()
        if not target.is_relative_to(ws.root):
            raise RefactorError(f"refusing to write outside the workspace: {file.path}")
        if file.create and target.exists():
            raise RefactorError(f"{file.path} already exists")
        targets[file.path] = target
    texts = proposed_texts(ws, change)
    written = []
    for path, (_, after) in texts.items():
        _write_atomically(targets[path], after)
        written.append(path)
    ws.index.refresh(written)
    return written


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".wholerepo", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def unified_diff(ws: Workspace, change: WorkspaceChange) -> str:
    """The change as a unified diff against the current texts, for people to read before applying."""
    chunks = []
    for path, (before, after) in proposed_texts(ws, change).items():
        old_name = "/dev/null" if not before and any(f.create for f in change.files if f.path == path) else f"a/{path}"
        chunks.extend(
            difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), old_name, f"b/{path}"
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
