"""Import resolution: from an import as written to the repository files it refers to.

One module per language family; each exposes ``resolve(layout, importer, imp) -> ImportTargets``.
Resolution is best effort: an import that names something outside the repository (the standard
library, a third-party package) resolves to nothing, and the rule each resolver follows where a
spelling is ambiguous is written in its module docstring. ``resolve_import`` picks the resolver by
language name; the path helpers below are shared by the resolvers, and every table they derive
from the layout is memoised in ``layout.cache`` so that each import costs a few dict lookups.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from types import ModuleType
from typing import TypeVar

from ..model import Import


@dataclass
class RepoLayout:
    """What resolvers may look at: the indexed files and a reader for config files.

    ``files`` holds repo-relative POSIX paths. ``read_text`` returns a repo-relative file's text
    (``go.mod``, ``tsconfig.json``, ``package.json``, ``Cargo.toml``...) or None when missing.
    Resolvers cache derived facts (package roots, module paths) in ``cache``.
    """

    files: frozenset[str]
    read_text: Callable[[str], str | None]
    cache: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportTargets:
    """Where one import leads.

    ``modules``: the file(s) the imported module spelling denotes (one file for most languages; a
    Go package is every non-test ``.go`` file of its directory). ``names``: imported names that are
    modules themselves (``from pkg import submodule``), mapped to their file.
    """

    modules: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)


_RESOLVERS = {
    "python": "python",
    "javascript": "typescript",
    "typescript": "typescript",
    "tsx": "typescript",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "c",
}


def resolve_import(layout: RepoLayout, importer: str, language: str, imp: Import) -> ImportTargets:
    """Resolve ``imp``, written in ``importer``, with the resolver of ``language``."""
    module = _RESOLVERS.get(language)
    if module is None:
        return ImportTargets()
    return _resolver(module).resolve(layout, importer, imp)


@cache
def importer_key(language: str) -> Callable[[str], str]:
    """The part of an importer's path that the resolver of ``language`` reads, as a function of
    the path. Of two imports alike in module and names, from importers with the same key, the
    resolver gives the same answer (a layout's answers are shared on that ground). Each resolver
    module says its own: ``importer_key = parent`` when it reads only the importer's directory."""
    module = _RESOLVERS.get(language)
    return _resolver(module).importer_key if module is not None else no_part


def whole_path(importer: str) -> str:
    """The ``importer_key`` of resolvers that read the importer's path beyond its directory."""
    return importer


def no_part(importer: str) -> str:
    """The ``importer_key`` of resolvers that do not look at the importer."""
    return ""


@cache
def _resolver(module: str) -> ModuleType:
    """Imported lazily (the resolver modules import the helpers below from this package), once."""
    return import_module(f"{__name__}.{module}")


T = TypeVar("T")


def memo(layout: RepoLayout, key: str, build: Callable[[], T]) -> T:
    """``layout.cache[key]``, built on first use: derived tables are computed once per layout."""
    try:
        return layout.cache[key]  # type: ignore[return-value]
    except KeyError:
        value = layout.cache[key] = build()
        return value


def parent(path: str) -> str:
    """The directory of a repo-relative path; ``""`` is the repository root."""
    return path.rpartition("/")[0]


def join(directory: str, *parts: str) -> str:
    """Join path parts onto a directory, the root ``""`` included; empty parts are skipped."""
    return "/".join(part for part in (directory, *parts) if part)


def normalize(path: str) -> str | None:
    """Collapse ``.`` and ``..``; None when the path climbs out of the repository."""
    normal = posixpath.normpath(path)
    if normal == ".":
        return ""
    if normal == ".." or normal.startswith(("../", "/")):
        return None
    return normal


def ancestors(directory: str) -> Iterator[str]:
    """``directory``, its parent, and so on up to the root ``""``."""
    while True:
        yield directory
        if not directory:
            return
        directory = parent(directory)


def nearest(table: Mapping[str, object], directory: str) -> str | None:
    """The closest directory at or above ``directory`` that is a key of ``table``."""
    return next((d for d in ancestors(directory) if d in table), None)


def closeness(a: str, b: str) -> int:
    """How many leading path components two repo-relative paths share."""
    shared = 0
    for left, right in zip(a.split("/"), b.split("/"), strict=False):
        if left != right or not left:
            break
        shared += 1
    return shared


def files_by_dir(layout: RepoLayout) -> dict[str, list[str]]:
    """Indexed files grouped by directory, each group sorted."""

    def build() -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for path in sorted(layout.files):
            grouped.setdefault(parent(path), []).append(path)
        return grouped

    return memo(layout, "files_by_dir", build)


def files_by_name(layout: RepoLayout) -> dict[str, list[str]]:
    """Indexed files grouped by base name, each group shortest path first, then lexicographic."""

    def build() -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for path in sorted(layout.files, key=lambda p: (len(p), p)):
            grouped.setdefault(posixpath.basename(path), []).append(path)
        return grouped

    return memo(layout, "files_by_name", build)


def config_texts(layout: RepoLayout, name: str, suffixes: tuple[str, ...]) -> dict[str, str]:
    """Text of each ``name`` file (``go.mod``, ``package.json``...) by directory.

    Config files need not be indexed, so they are probed through ``read_text`` in every directory
    holding, or above, an indexed file ending with one of ``suffixes``; once per layout.
    """

    def build() -> dict[str, str]:
        directories: set[str] = set()
        for path in layout.files:
            if path.endswith(suffixes):
                for directory in ancestors(parent(path)):
                    if directory in directories:
                        break
                    directories.add(directory)
        found: dict[str, str] = {}
        for directory in sorted(directories):
            text = layout.read_text(join(directory, name))
            if text is not None:
                found[directory] = text
        return found

    return memo(layout, f"config:{name}:{','.join(suffixes)}", build)
