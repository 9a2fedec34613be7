"""Writing a WorkspaceChange to disk, every file or none, for the command line.

Three steps, so that no failure (disk full, permission denied, an error halfway) leaves a file
half-written or the change half-applied:

1. check: every target is inside the workspace and writable (a file or folder without write bits is
   refused, as editors refuse a read-only file), and its disk text is still the text the change was
   computed from (not changed since, not undecodable bytes that a rewrite would lose);
2. stage: each new text goes into a temporary file beside its target, written in full, with the
   target's permission bits (new files: 0o666 less the umask), and fsynced;
3. commit: each old file is kept as a hard link (a copy where the filesystem has none), then the
   staged file is renamed over it. When a rename fails, the files already replaced get their old
   inode back (a rename, needing no disk space), files created are removed, and WriteFailed says
   which file failed and why: the workspace is as it was.

No temporary file outlives the call. A kill -9 inside step 3 can leave some files new and some old,
each whole, with its `.wholerepo` temporaries beside it.
"""

from __future__ import annotations

import difflib
import errno
import os
import secrets
import shutil
import stat
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from ..edits import WorkspaceChange
from ..workspace import Workspace
from .errors import RefactorError
from .validate import proposed_texts

TEMP_SUFFIX = ".wholerepo"
CHUNK = 1 << 20


class WriteFailed(RefactorError):
    """Writing the change failed at one file; every file was left (or put back) as it was."""

    def __init__(self, path: str, error: OSError, restored: list[str], unrestored: list[str]) -> None:
        reason = error.strerror or str(error)
        code = errno.errorcode.get(error.errno or 0, "")
        message = f"could not write {path}: {reason}" + (f" ({code})" if code else "")
        if unrestored:
            message += f"; could not restore {', '.join(unrestored)} (their old text is in the .wholerepo files beside)"
        else:
            message += "; nothing was changed" + (f" ({len(restored)} file(s) put back)" if restored else "")
        super().__init__(message)
        self.path, self.error, self.restored, self.unrestored = path, error, restored, unrestored


@dataclass
class _Target:
    rel: str
    path: Path
    data: bytes
    mode: int
    existed: bool
    staged: Path | None = None
    backup: Path | None = None
    replaced: bool = False
    keep_backup: bool = False  # a roll back that failed: the backup is the only old copy left
    made_folders: list[Path] = field(default_factory=list)


def apply_to_disk(ws: Workspace, change: WorkspaceChange) -> list[str]:
    """Write the change under ``ws.root``; returns the paths written. RefactorError before any write
    when a path leaves the workspace, an edit does not fit, or a file is read-only or changed;
    WriteFailed when the disk refuses, with every file as it was."""
    targets = _plan(ws, change)
    current = None
    try:
        for current in targets:
            _stage(current)
        for current in targets:
            _commit(current)
    except OSError as error:
        restored, unrestored = _undo(targets)
        raise WriteFailed(current.rel, error, restored, unrestored) from None
    except BaseException:
        _undo(targets)
        raise
    _clean(targets)
    _sync_folders(targets)
    written = [target.rel for target in targets]
    ws.index.refresh(written)
    return written


# -- 1. check -------------------------------------------------------------------------------------


def _plan(ws: Workspace, change: WorkspaceChange) -> list[_Target]:
    paths = {}
    for file in change.files:
        target = (ws.root / file.path).resolve()
        if not target.is_relative_to(ws.root):
            raise RefactorError(f"refusing to write outside the workspace: {file.path}")
        if file.create and target.exists():
            raise RefactorError(f"{file.path} already exists")
        paths[file.path] = target
    targets = []
    for rel, (before, after) in proposed_texts(ws, change).items():
        path = paths[rel]
        existed = path.exists()
        if existed:
            _check_unchanged(path, rel, before)
        _check_writable(path, rel)
        try:
            data = after.encode("utf-8")
        except UnicodeEncodeError as error:
            raise RefactorError(f"the new text of {rel} is not encodable as UTF-8: {error}") from None
        mode = stat.S_IMODE(path.stat().st_mode) if existed else 0o666 & ~_umask()
        targets.append(_Target(rel, path, data, mode, existed))
    return targets


def _check_unchanged(path: Path, rel: str, before: str) -> None:
    try:
        on_disk = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise RefactorError(f"{rel} is not valid UTF-8: rewriting it would lose bytes; nothing was written") from None
    except OSError as error:
        raise WriteFailed(rel, error, [], []) from None
    if on_disk != before:
        raise RefactorError(
            f"{rel} on disk differs from the text the change was computed from (changed since, or an unsaved "
            "buffer); nothing was written"
        )


def _check_writable(path: Path, rel: str) -> None:
    """A read-only file or folder (no write bits, or no write access) is refused before any write."""
    where = path if path.exists() else _existing_ancestor(path.parent)
    folder = where if where.is_dir() else where.parent
    for candidate, what in ((where, "file"), (folder, "folder")):
        if what == "file" and candidate.is_dir():
            continue
        if stat.S_IMODE(candidate.stat().st_mode) & 0o222 == 0 or not os.access(candidate, os.W_OK):
            raise WriteFailed(rel, PermissionError(errno.EACCES, f"the {what} {candidate} is read-only"), [], [])


def _existing_ancestor(folder: Path) -> Path:
    while not folder.exists():
        folder = folder.parent
    return folder


def _umask() -> int:
    """The process's umask, read without changing it (Linux); 0o022 elsewhere."""
    with suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


# -- 2. stage -------------------------------------------------------------------------------------


def _stage(target: _Target) -> None:
    target.made_folders = _make_folders(target.path.parent)
    handle, name = tempfile.mkstemp(prefix=f".{target.path.name}.", suffix=TEMP_SUFFIX, dir=target.path.parent)
    target.staged = Path(name)
    try:
        _write_all(handle, target.data)
        os.fchmod(handle, target.mode)
        os.fsync(handle)
    finally:
        os.close(handle)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; the ones created, deepest first (to remove on roll back)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir()
    return missing


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        count = os.write(handle, view[:CHUNK])
        if count <= 0:
            raise OSError(errno.EIO, "the write made no progress")
        view = view[count:]


# -- 3. commit, or roll back ----------------------------------------------------------------------


def _commit(target: _Target) -> None:
    if target.existed:
        target.backup = _keep_old(target.path)
    os.replace(target.staged, target.path)
    target.staged = None
    target.replaced = True


def _keep_old(path: Path) -> Path:
    """The old file under a temporary name: a hard link to its inode, or a copy where links fail."""
    backup = path.with_name(f".{path.name}.{secrets.token_hex(4)}.old{TEMP_SUFFIX}")
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup


def _undo(targets: list[_Target]) -> tuple[list[str], list[str]]:
    """Put every replaced file back, remove staged files and the folders made for new files;
    (restored, not restored) relative paths."""
    restored, unrestored = [], []
    for target in reversed(targets):
        if not target.replaced:
            continue
        try:
            if target.backup is not None:
                os.replace(target.backup, target.path)
                target.backup = None
            else:
                target.path.unlink()
            target.replaced = False
            restored.append(target.rel)
        except OSError:
            target.keep_backup = True
            unrestored.append(target.rel)
    _clean(targets)
    for target in targets:
        if not target.replaced:
            for folder in target.made_folders:  # deepest first; one still holding something stays
                with suppress(OSError):
                    folder.rmdir()
    return restored, unrestored


def _clean(targets: list[_Target]) -> None:
    """Remove staged files never renamed and old copies no longer needed."""
    for target in targets:
        for leftover in (target.staged, None if target.keep_backup else target.backup):
            if leftover is not None:
                with suppress(OSError):
                    leftover.unlink()


def _sync_folders(targets: list[_Target]) -> None:
    """fsync each folder so the renames survive a power cut (best effort: some filesystems refuse)."""
    for folder in {target.path.parent for target in targets}:
        with suppress(OSError):
            handle = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)


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
