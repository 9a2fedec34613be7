"""Which files of a workspace get indexed, and how their bytes are read.

Walks the tree honouring ``.gitignore`` files at every level (pathspec) and ``.wholerepoignore``
at the root, skips ``.git`` and other VCS folders, follows directory symlinks only when they stay
inside the root and never twice (no loops), and keeps files of known languages under a size cap.
Reading sniffs binary content and replaces undecodable bytes, so no input makes the indexer fail.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .languages import language_for_path

DEFAULT_MAX_FILE_SIZE = 1_000_000
ALWAYS_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".jj", "__pycache__"})
IGNORE_FILES = (".gitignore",)
ROOT_IGNORE_FILES = (".wholerepoignore",)
BINARY_SNIFF_BYTES = 8192


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

    def _spec(self, rel_dir: str) -> pathspec.PathSpec | None:
        if rel_dir not in self._specs:
            names = IGNORE_FILES + (ROOT_IGNORE_FILES if rel_dir == "" else ())
            lines: list[str] = list(self._extra) if rel_dir == "" else []
            for name in names:
                try:
                    lines += (self.root / rel_dir / name).read_text(encoding="utf-8", errors="replace").splitlines()
                except OSError:
                    continue
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

    def excluded(self, rel_path: str) -> bool:
        """Whether a file is left out, by its own name or by any folder above it."""
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
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop while resolving
        return False


def is_binary(data: bytes) -> bool:
    """A NUL byte near the start marks binary content, as git decides it."""
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def decode_source(data: bytes) -> tuple[bytes, bool]:
    """Valid UTF-8 for tree-sitter, and whether bytes had to be replaced to get it."""
    try:
        data.decode("utf-8")
        return data, False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8"), True


def resolve_inside(root: Path, rel_path: str) -> Path | None:
    """The absolute path of ``rel_path`` if it stays inside ``root`` (after symlinks), else None."""
    if not rel_path or os.path.isabs(rel_path):
        return None
    candidate = root / rel_path
    return candidate if _inside(root, candidate) else None
