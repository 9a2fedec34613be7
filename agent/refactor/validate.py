"""Checking a proposed change in memory before anyone applies it.

Two checks: every changed file still parses (no more tree-sitter ERROR/MISSING nodes than before),
and for renames a re-index of the changed text agrees with the edit: the new name has as many
references as the old one had, and no occurrence of the old name was left behind. The re-index
runs on a scratch copy of the index database, so the live index (and every editor request served
from it meanwhile) never sees text that was only proposed.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from indexer import parse_source, syntax_error_count

from ..edits import WorkspaceChange, apply_edits
from ..workspace import Workspace, WorkspaceSettings
from .errors import RefactorError


def proposed_texts(ws: Workspace, change: WorkspaceChange) -> dict[str, tuple[str, str]]:
    """Each changed file's (current text, text after the change), reading buffers before the disk."""
    texts = {}
    for file in change.files:
        before = "" if file.create else ws.index.source_text(file.path)
        if before is None:
            raise RefactorError(f"cannot read {file.path}")
        try:
            texts[file.path] = (before, apply_edits(before, file.edits))
        except ValueError as error:
            raise RefactorError(f"the edits to {file.path} do not fit its text: {error}") from None
    return texts


def check_parses(texts: dict[str, tuple[str, str]]) -> None:
    """RefactorError naming the files whose new text has syntax errors the old one had not."""
    broken = []
    for path, (before, after) in sorted(texts.items()):
        new_tree = parse_source(path, after)
        if new_tree is None:
            continue
        old_tree = parse_source(path, before)
        old_errors = syntax_error_count(old_tree) if old_tree is not None and before else 0
        new_errors = syntax_error_count(new_tree)
        if new_errors > old_errors:
            broken.append(f"{path} ({new_errors - old_errors} new syntax error(s))")
    if broken:
        raise RefactorError("the change would break the syntax of " + ", ".join(broken))


@contextmanager
def scratch_workspace(ws: Workspace, texts: dict[str, str]) -> Iterator[Workspace]:
    """A workspace over a copy of ``ws``'s index in which ``texts`` replace the files' contents."""
    with tempfile.TemporaryDirectory(prefix="wholerepo-validate-") as folder:
        source = sqlite3.connect(f"file:{ws.index_path}?mode=ro", uri=True)
        copy = sqlite3.connect(Path(folder) / "index.sqlite")
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        scratch = Workspace(ws.root, WorkspaceSettings(index_dir=Path(folder)))
        try:
            for path, text in texts.items():
                if not scratch.index.update(path, text):
                    raise RefactorError(f"cannot re-index {path}")
            yield scratch
        finally:
            scratch.close()
