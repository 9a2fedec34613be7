"""Python: dotted module names to files, across every source root of the repository.

Source roots are the repository root, the parent of every top-level package (a directory with
``__init__.py`` whose parent has none: ``src/`` layouts, several roots side by side) and every
directory named ``src``; directories without ``__init__.py`` below a root are namespace packages.
An importer that is not in a package also sees its own directory, as a script run from there or a
test collected by pytest would.

Under one root a name maps to ``a/b/__init__.py`` before ``a/b.py`` (CPython finds the package
first), and to ``.py`` before ``.pyi``: the stub of an in-repo module mirrors its source, and
navigation should land on the implementation. A name found under several roots goes to the root
sharing the longest path prefix with the importer, then to the shortest path. A namespace package
has no file, so it resolves to no module, though its submodules still resolve as names.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ..model import Import
from . import ImportTargets, RepoLayout, ancestors, closeness, join, memo, parent

importer_key = parent  # both forms read the importer only through its directory

_SUFFIXES = (".py", ".pyi")
# Within one root: package before module, source before stub.
_INITS = ("__init__.py", "__init__.pyi")
_RANK = {"__init__.py": 0, "__init__.pyi": 1, ".py": 2, ".pyi": 3}

Candidate = tuple[str, str]  # (source root, file)


@dataclass(frozen=True)
class _Table:
    modules: dict[str, list[Candidate]]  # dotted name -> its best file under each root
    packages: frozenset[str]  # directories holding an __init__ file
    roots: frozenset[str]


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one Python import: relative forms from the importer's package, absolute from roots."""
    names = [n.name for n in imp.names if n.name != "*"]
    if imp.module.startswith("."):
        return _relative(layout.files, importer, imp.module, names)
    table = memo(layout, "python", lambda: _build(layout.files))
    found = _candidates(layout.files, table, importer, imp.module)
    root = found[0][0] if found else None
    submodules = {}
    for name in names:
        file = _pick(_candidates(layout.files, table, importer, f"{imp.module}.{name}"), root)
        if file is not None:
            submodules[name] = file
    return ImportTargets(modules=(found[0][1],) if found else (), names=submodules)


def _relative(files: frozenset[str], importer: str, module: str, names: list[str]) -> ImportTargets:
    """``from ..x import y``: one dot is the importer's package (its own dir for ``__init__``)."""
    rest = module.lstrip(".")
    base = parent(importer)
    for _ in range(len(module) - len(rest) - 1):
        if not base:
            return ImportTargets()
        base = parent(base)
    target = join(base, *rest.split(".")) if rest else base
    own = _module_file(files, target)
    submodules = {}
    for name in names:
        file = _module_file(files, join(target, *name.split(".")))
        if file is not None:
            submodules[name] = file
    return ImportTargets(modules=(own,) if own else (), names=submodules)


def _module_file(files: frozenset[str], path: str) -> str | None:
    """The file of the module at ``path`` (no suffix), package first, source before stub."""
    candidates = [join(path, init) for init in _INITS]
    if path:
        candidates += [path + suffix for suffix in _SUFFIXES]
    return next((c for c in candidates if c in files), None)


def _candidates(files: frozenset[str], table: _Table, importer: str, dotted: str) -> list[Candidate]:
    """Every root's file for ``dotted``, the preferred first."""
    found = list(table.modules.get(dotted, ()))
    script_dir = parent(importer)
    if script_dir not in table.packages and script_dir not in table.roots:
        file = _module_file(files, join(script_dir, *dotted.split(".")))
        if file is not None:
            found.append((script_dir, file))
    return sorted(found, key=lambda c: (-closeness(c[0], script_dir), len(c[1]), c[1]))


def _pick(found: list[Candidate], root: str | None) -> str | None:
    """The candidate under ``root`` (where the parent package resolved), else the best one."""
    same_root = next((file for r, file in found if r == root), None)
    return same_root or (found[0][1] if found else None)


def _build(files: frozenset[str]) -> _Table:
    sources = [f for f in files if f.endswith(_SUFFIXES)]
    packages = frozenset(parent(f) for f in sources if posixpath.basename(f) in _INITS)
    roots = {""} | {parent(p) for p in packages if parent(p) not in packages}
    roots |= {d for f in sources for d in ancestors(parent(f)) if posixpath.basename(d) == "src"}
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for file in sources:
        for root in ancestors(parent(file)):
            entry = _dotted(file[len(root) + 1 :] if root else file) if root in roots else None
            if entry is None:
                continue
            dotted, rank = entry
            known = best.get((dotted, root))
            if known is None or rank < known[0]:
                best[dotted, root] = (rank, file)
    modules: dict[str, list[Candidate]] = {}
    for (dotted, root), (_, file) in sorted(best.items()):
        modules.setdefault(dotted, []).append((root, file))
    return _Table(modules, packages, frozenset(roots))


def _dotted(relative: str) -> tuple[str, int] | None:
    """``a/b/__init__.py`` -> (``a.b``, rank); None when the path is no importable name."""
    *dirs, name = relative.split("/")
    if name in _INITS:
        rank, parts = _RANK[name], dirs
    else:
        stem, suffix = posixpath.splitext(name)
        rank, parts = _RANK[suffix], [*dirs, stem]
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), rank
