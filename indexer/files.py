"""Which files of a workspace get indexed, and how their bytes are read.

Walks the tree honouring ``.gitignore`` files at every level (pathspec) and ``.wholerepoignore``
at the root, skips ``.git`` and other VCS folders, follows directory symlinks only when they stay
inside the root and never twice (no loops), and keeps files of known languages under a size cap.
Reading sniffs binary content and replaces undecodable bytes, so no input makes the indexer fail.
Every read of a workspace file goes through ``read_inside``, which refuses a file that is, or turns
out after opening to be, outside the root (a symlink pointing out, or swapped in between check and use).
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

import pathspec

from .languages import language_for_path

DEFAULT_MAX_FILE_SIZE = 1_000_000
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".jj", "__pycache__"})
IGNORE_FILES = (".gitignore",)
ROOT_IGNORE_FILES = (".wholerepoignore",)
BINARY_SNIFF_BYTES = 8192
# Tree-sitter's queries take time quadratic in a tree's depth, holding the GIL (30,000 nested '(' in a Python
# buffer: 2.9 s; 66,000: 16.6 s); no real source nests brackets anywhere near this deep.
MAX_NESTING = 1000
_BRACKET_DELTA = tuple(1 if byte in b"([{" else -1 if byte in b")]}" else 0 for byte in range(256))
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"()[]{}")))


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file chosen for indexing, with what the walk learned about it."""

    path: str  # repo-relative, POSIX separators
    size: int
    mtime_ns: int


@dataclass
class WalkReport:
    """The files to index and, per reason, how many were left out."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class IgnoreRules:
    """The ignore files of a workspace, loaded lazily per directory and cached.

    A path is ignored when the root's ``.wholerepoignore`` or the ``.gitignore`` of any directory
    above it matches it (deeper files cannot re-include what a shallower one excludes).
    """

    def __init__(self, root: Path, extra_patterns: tuple[str, ...] = ()) -> None:
        self.root = root
        self._extra = list(extra_patterns)  # gitignore-syntax patterns relative to the root
        self._specs: dict[str, pathspec.PathSpec | None] = {}
        self._excluded: dict[str, bool] = {}

    def _spec(self, rel_dir: str) -> pathspec.PathSpec | None:
        if rel_dir not in self._specs:
            names = IGNORE_FILES + (ROOT_IGNORE_FILES if rel_dir == "" else ())
            lines: list[str] = list(self._extra) if rel_dir == "" else []
            for name in names:
                try:
                    data = read_inside(self.root, f"{rel_dir}/{name}" if rel_dir else name)
                except OSError:
                    continue
                lines += data.decode("utf-8", "replace").splitlines()
            self._specs[rel_dir] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[rel_dir]

    def ignored(self, rel_path: str, is_dir: bool) -> bool:
        """Whether the ignore files of the directories above ``rel_path`` exclude it."""
        parts = rel_path.split("/")
        for depth in range(len(parts)):
            spec = self._spec("/".join(parts[:depth]))
            local = "/".join(parts[depth:])
            if spec is not None and spec.match_file(local + "/" if is_dir else local):
                return True
        return False

    def why(self, rel_path: str, is_dir: bool) -> str | None:
        """Which rule source leaves ``rel_path`` out (``.wholerepoignore``, ``sub/.gitignore``, ``exclude
        setting``), or None; for reports, so the walk's own check stays one combined match per level."""
        parts = rel_path.split("/")
        for depth in range(len(parts)):
            rel_dir = "/".join(parts[:depth])
            local = "/".join(parts[depth:]) + ("/" if is_dir else "")
            for label, spec in self._labelled_specs(rel_dir):
                if spec.match_file(local):
                    return label
        return None

    def _labelled_specs(self, rel_dir: str) -> list[tuple[str, pathspec.PathSpec]]:
        found = []
        if rel_dir == "" and self._extra:
            found.append(("exclude setting", pathspec.GitIgnoreSpec.from_lines(self._extra)))
        for name in IGNORE_FILES + (ROOT_IGNORE_FILES if rel_dir == "" else ()):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                lines = read_inside(self.root, rel).decode("utf-8", "replace").splitlines()
            except OSError:
                continue
            found.append((rel, pathspec.GitIgnoreSpec.from_lines(lines)))
        return found

    def excluded(self, rel_path: str) -> bool:
        """Whether a file is left out, by its own name or by any folder above it (remembered: asked
        for every file text the index hands out)."""
        known = self._excluded.get(rel_path)
        if known is None:
            known = self._excluded[rel_path] = self._excluded_now(rel_path)
        return known

    def _excluded_now(self, rel_path: str) -> bool:
        parts = rel_path.split("/")
        for depth in range(1, len(parts)):
            if parts[depth - 1] in ALWAYS_SKIPPED_DIRS or self.ignored("/".join(parts[:depth]), True):
                return True
        return self.ignored(rel_path, is_dir=False)


def walk(root: Path, max_file_size: int = DEFAULT_MAX_FILE_SIZE, rules: IgnoreRules | None = None) -> WalkReport:
    """Every indexable file under ``root``, sorted by path."""
    root = root.resolve()
    report = WalkReport()
    rules = rules or IgnoreRules(root)
    seen_dirs: set[tuple[int, int]] = set()
    report.files.extend(_walk_dir(root, root, "", rules, seen_dirs, report, max_file_size))
    report.files.sort(key=lambda f: f.path)
    return report


def _walk_dir(
    root: Path,
    directory: Path,
    rel_dir: str,
    rules: IgnoreRules,
    seen_dirs: set[tuple[int, int]],
    report: WalkReport,
    max_file_size: int,
) -> Iterator[SourceFile]:
    try:
        info = directory.stat()
    except OSError:
        report.skipped["unreadable"] += 1
        return
    key = (info.st_dev, info.st_ino)
    if key in seen_dirs:
        report.skipped["symlink loop"] += 1
        return
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        report.skipped["unreadable"] += 1
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            is_link = entry.is_symlink()
            entry_stat = entry.stat(follow_symlinks=True)
        except OSError:
            report.skipped["broken link" if _is_link(entry) else "unreadable"] += 1
            continue
        if is_link and not _inside(root, Path(entry.path)):
            report.skipped["link outside workspace"] += 1
            continue
        if stat.S_ISDIR(entry_stat.st_mode):
            if entry.name in ALWAYS_SKIPPED_DIRS or rules.ignored(rel, is_dir=True):
                continue
            yield from _walk_dir(root, Path(entry.path), rel, rules, seen_dirs, report, max_file_size)
        elif stat.S_ISREG(entry_stat.st_mode):
            if language_for_path(entry.name) is None:
                continue
            if rules.ignored(rel, is_dir=False):
                report.skipped["ignored"] += 1
                continue
            if entry_stat.st_size > max_file_size:
                report.skipped["too large"] += 1
                continue
            yield SourceFile(rel, entry_stat.st_size, entry_stat.st_mtime_ns)


def _is_link(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symlink loop; ValueError: a NUL byte
        return False


def is_binary(data: bytes) -> bool:
    """A NUL byte near the start marks binary content, as git decides it."""
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def too_deeply_nested(data: bytes, limit: int = MAX_NESTING) -> bool:
    """Brackets open deeper than `limit` somewhere (counted over the raw bytes, strings and comments included:
    a cheap bound, about 2 ms per megabyte). One pass keeps only the brackets (a few % of source), and the
    depth is followed over those."""
    brackets = data.translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    # accumulate and map loop in C; numpy did it faster, but importing it cost each worker process
    # (and the fork server before any worker starts) 0.15-0.25 s
    return max(accumulate(map(_BRACKET_DELTA.__getitem__, brackets))) > limit


def decode_source(data: bytes) -> tuple[bytes, bool]:
    """Valid UTF-8 for tree-sitter, and whether bytes had to be replaced to get it."""
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8"), True


def excluded_entries(root: Path, rules: IgnoreRules, limit: int = 1000) -> tuple[list[tuple[str, str]], bool]:
    """What the ignore rules keep out, as (path, rule source) pairs, folders once with a trailing
    ``/`` (their contents are not listed); at most ``limit``, and whether the list was cut short."""
    root = root.resolve()
    found: list[tuple[str, str]] = []
    pending = [("", root)]
    while pending:
        rel_dir, directory = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.name in ALWAYS_SKIPPED_DIRS or (_is_link(entry) and not _inside(root, Path(entry.path))):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            reason = rules.why(rel, is_dir)
            if reason is not None:
                if len(found) == limit:
                    return sorted(found), True
                found.append((rel + "/" if is_dir else rel, reason))
            elif is_dir and not _is_link(entry):
                pending.append((rel, Path(entry.path)))
    return sorted(found), False


class OutsideRoot(PermissionError):
    """A workspace path that leads outside the root, after symlinks; nothing of it was read."""


def read_inside(root: Path, rel_path: str) -> bytes:
    """The bytes of the regular file ``rel_path`` under the (resolved) ``root``.

    Checked before opening (the path resolved: a link pointing out is never even opened) and again
    after (the file the kernel actually opened), so a symlink swapped in between the check and the
    open raises OutsideRoot and yields no byte. O_NONBLOCK: a FIFO swapped in cannot make it hang.
    """
    base = os.fspath(root)
    absolute = os.path.join(base, rel_path) if rel_path and not os.path.isabs(rel_path) else None
    if absolute is None or not _within(base, _real(absolute)):
        raise OutsideRoot(errno.EACCES, "outside the workspace", rel_path)
    fd = os.open(absolute, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", rel_path)
        opened = _opened_path(fd)
        if opened is None:  # no /proc: the file opened must be the one the check resolved
            same = os.stat(_real(absolute))
            inside = (same.st_dev, same.st_ino) == (info.st_dev, info.st_ino) and _within(base, _real(absolute))
        else:
            inside = _within(base, opened)
        if not inside:
            raise OutsideRoot(errno.EACCES, "outside the workspace (changed after the check)", rel_path)
        chunks = []
        while chunk := os.read(fd, max(info.st_size, 65536)):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # ValueError: a NUL byte
        return ""


def _within(base: str, path: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _opened_path(fd: int) -> str | None:
    """The real path of an open file descriptor, where the system tells (Linux /proc)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def resolve_inside(root: Path, rel_path: str) -> Path | None:
    """The absolute path of ``rel_path`` if it stays inside ``root`` (after symlinks), else None."""
    if not rel_path or os.path.isabs(rel_path):
        return None
    candidate = root / rel_path
    return candidate if _inside(root, candidate) else None
