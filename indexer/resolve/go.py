"""Go: import paths to the files of a package directory, through the repository's go.mod files.

Every ``go.mod`` of the repository (multi-module repos included) declares a module path; an import
path goes to the module with the longest matching prefix, and the rest of the path names a
directory below that module's ``go.mod``. The package is every ``.go`` file directly in that
directory except ``_test.go`` files. When several ``go.mod`` files declare the same module path,
the one governing the importer (the nearest above it) wins, else the one sharing the longest path
prefix with it. Paths no module of the repo provides are tried in the importer's module's
``vendor/`` directory, and otherwise (standard library, dependencies) resolve to nothing.
"""

from __future__ import annotations

import re

from ..model import Import
from . import (
    ImportTargets,
    RepoLayout,
    closeness,
    config_texts,
    files_by_dir,
    join,
    memo,
    nearest,
    parent,
    whole_path,
)

# The importer's directory finds its go.mod, but a module path declared twice goes to the go.mod
# sharing the most path components with the importer's own path, its file name included.
importer_key = whole_path

_MODULE = re.compile(r'^\s*module\s+"?([^\s"/][^\s"]*)"?', re.M)


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one import path to the non-test files of its package directory."""
    home = nearest(config_texts(layout, "go.mod", (".go",)), parent(importer))
    modules = memo(layout, "go:modules", lambda: _modules(layout))
    parts = imp.module.split("/")
    for size in range(len(parts), 0, -1):
        homes = modules.get("/".join(parts[:size]))
        if homes:
            root = home if home in homes else max(homes, key=lambda d: closeness(d, importer))
            package = _package(layout, join(root, *parts[size:]))
            if package:
                return ImportTargets(modules=package)
    if home is not None:
        return ImportTargets(modules=_package(layout, join(home, "vendor", *parts)))
    return ImportTargets()


def _package(layout: RepoLayout, directory: str) -> tuple[str, ...]:
    files = files_by_dir(layout).get(directory, ())
    return tuple(f for f in files if f.endswith(".go") and not f.endswith("_test.go"))


def _modules(layout: RepoLayout) -> dict[str, list[str]]:
    """Module path -> directories of the go.mod files declaring it, shortest first."""
    found: dict[str, list[str]] = {}
    texts = config_texts(layout, "go.mod", (".go",))
    for directory in sorted(texts, key=lambda d: (len(d), d)):
        match = _MODULE.search(texts[directory])
        if match:
            found.setdefault(match.group(1), []).append(directory)
    return found
