"""Java: imports to source files by package path, whatever the source root.

``a.b.C`` goes to a file whose path ends with ``a/b/C.java``; when none does, trailing segments
are dropped (nested classes, static members: ``a.b.C.Inner`` -> ``a/b/C.java``), down to two
segments since classes of the unnamed package cannot be imported. Among several matches, files
outside test directories (``src/main/java`` over ``src/test/java``) win, then the shortest path.
``a.b.*`` goes to every ``.java`` file directly in each directory ending with ``a/b``, sorted;
non-test directories only when there are any. A star import of a class (``import static
a.b.C.*``) falls back to the class file. JDK and dependency classes resolve to nothing.
"""

from __future__ import annotations

import posixpath

from ..model import Import
from . import ImportTargets, RepoLayout, files_by_dir, files_by_name, memo, no_part, parent

importer_key = no_part  # imports name classes by package, wherever the importer is

_TEST_DIRS = frozenset({"test", "tests", "androidTest", "testFixtures"})


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one import: a package's files for a star import, else the class file."""
    parts = imp.module.split(".")
    if any(n.name == "*" for n in imp.names):
        package = _package_files(layout, "/".join(parts))
        if package:
            return ImportTargets(modules=package)
    for size in range(len(parts), 1, -1):
        suffix = "/".join(parts[:size]) + ".java"
        matches = [f for f in files_by_name(layout).get(parts[size - 1] + ".java", ()) if _ends(f, suffix)]
        if matches:
            return ImportTargets(modules=(min(matches, key=lambda f: (_is_test(f), len(f), f)),))
    return ImportTargets()


def _package_files(layout: RepoLayout, suffix: str) -> tuple[str, ...]:
    dirs = [d for d in _java_dirs(layout).get(posixpath.basename(suffix), ()) if _ends(d, suffix)]
    main = [d for d in dirs if not _is_test(d)]
    by_dir = files_by_dir(layout)
    return tuple(sorted(f for d in main or dirs for f in by_dir[d] if f.endswith(".java")))


def _java_dirs(layout: RepoLayout) -> dict[str, list[str]]:
    """Directories holding .java files, by their last component."""

    def build() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for directory in sorted({parent(f) for f in layout.files if f.endswith(".java")}):
            found.setdefault(posixpath.basename(directory), []).append(directory)
        return found

    return memo(layout, "java:dirs", build)


def _ends(path: str, suffix: str) -> bool:
    return path == suffix or path.endswith("/" + suffix)


def _is_test(path: str) -> bool:
    return not _TEST_DIRS.isdisjoint(path.split("/"))
