"""The training corpus: Python source of the running interpreter (its standard library and site-packages).

Only permissively licensed code goes in: files owned by a distribution whose licence metadata names a GPL-family
licence (SPDX expression, trove classifiers, or a short `License` field) are left out; the standard library is
PSF-licensed. Exact duplicates (vendored copies) count once, and files that look generated or minified (very
long lines, huge size) are skipped.

Held-out files are chosen by directory, so an evaluation file's package neighbours are held out with it and the
model cannot have memorised them from the training half.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import site
import sys
import sysconfig
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 400_000
MIN_FILE_BYTES = 64
MAX_MEAN_LINE_CHARS = 120
COPYLEFT_MARKERS = ("GPL", "GENERAL PUBLIC LICENSE")
FOREIGN_SITE_DIRS = ("site-packages", "dist-packages")
SHORT_LICENSE_FIELD = 100  # longer `License` fields are whole licence texts that may merely mention the GPL


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to its root, '/'-separated: what the repo-level format names it
    text: str

    @property
    def directory(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def package(self) -> str:
        """The top-level package (the repo name in the repo-level format); top-level modules share 'stdlib'."""
        head, sep, _ = self.path.partition("/")
        return head if sep else "stdlib"


def source_roots() -> list[Path]:
    """The interpreter's stdlib and site-packages folders that exist, site-packages first, without repeats."""
    paths = sysconfig.get_paths()
    candidates = [*site.getsitepackages(), paths["purelib"], paths["platlib"], paths["stdlib"]]
    if hasattr(site, "getusersitepackages"):
        candidates.append(site.getusersitepackages())
    roots: list[Path] = []
    for candidate in candidates:
        path = Path(candidate).resolve()
        if path.is_dir() and path not in roots:
            roots.append(path)
    return roots


def is_copyleft(metadata) -> bool:
    """True when a distribution's licence metadata names a GPL-family licence (LGPL and AGPL included)."""
    fields = [metadata.get("License-Expression") or ""]
    fields += [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    licence = metadata.get("License") or ""
    if len(licence) <= SHORT_LICENSE_FIELD:
        fields.append(licence)
    return any(marker in field.upper() for field in fields for marker in COPYLEFT_MARKERS)


def copyleft_files(roots: Iterable[Path]) -> set[Path]:
    """Every file that a copyleft distribution installed under `roots`."""
    excluded: set[Path] = set()
    for dist in importlib.metadata.distributions(path=[str(root) for root in roots]):
        if not is_copyleft(dist.metadata):
            continue
        for file in dist.files or ():
            excluded.add(Path(dist.locate_file(file)).resolve())
    return excluded


def looks_generated(text: str) -> bool:
    lines = text.count("\n") + 1
    return len(text) / lines > MAX_MEAN_LINE_CHARS


def iter_sources(roots: Iterable[Path] | None = None, max_files: int | None = None) -> Iterator[SourceFile]:
    """Readable, permissively licensed, de-duplicated `.py` files under `roots` (the interpreter's by default).

    A root nested in another (site-packages inside the stdlib folder) is walked once, as itself.
    """
    roots = [Path(root).resolve() for root in (roots if roots is not None else source_roots())]
    excluded = copyleft_files(roots)
    seen_hashes: set[bytes] = set()
    seen_paths: set[Path] = set()
    count = 0
    for root in roots:
        nested = [other for other in roots if other != root and other.is_relative_to(root)]
        for file in sorted(root.rglob("*.py")):
            if file in seen_paths or any(file.is_relative_to(other) for other in nested):
                continue
            if file.relative_to(root).parts[0] in FOREIGN_SITE_DIRS:  # another interpreter's packages
                continue
            seen_paths.add(file)
            source = _read_source(file, root, excluded, seen_hashes)
            if source is None:
                continue
            yield source
            count += 1
            if max_files is not None and count >= max_files:
                return


def _read_source(file: Path, root: Path, excluded: set[Path], seen_hashes: set[bytes]) -> SourceFile | None:
    try:
        if not file.is_file() or file.resolve() in excluded:
            return None
        data = file.read_bytes()
    except OSError:
        return None
    if not MIN_FILE_BYTES <= len(data) <= MAX_FILE_BYTES:
        return None
    digest = hashlib.sha1(data).digest()
    if digest in seen_hashes:
        return None
    seen_hashes.add(digest)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.replace("\r\n", "\n")
    if looks_generated(text):
        return None
    return SourceFile(path=file.relative_to(root).as_posix(), text=text)


def is_held_out(source: SourceFile, percent: float) -> bool:
    """A stable choice by directory (crc32 of its path), the same on every run over the same files."""
    bucket = zlib.crc32(source.directory.encode("utf-8")) % 10_000
    return bucket < percent * 100


def interpreter_description() -> str:
    return f"Python {sys.version.split()[0]} at {sys.executable}"
