"""Rust: ``use`` paths and ``mod`` declarations to module files.

Module paths are walked through the file tree rather than spelled out: the children of a crate
root or a ``mod.rs`` live in its directory, those of any other ``foo.rs`` in ``foo/``; child
``x`` is ``x.rs``, else ``x/mod.rs``. So ``src/a/b.rs`` and ``src/a/b/mod.rs`` are both
``crate::a::b``, and ``super`` is the module owning the file's directory.

The crate root of a file is found from the nearest ``Cargo.toml``: ``src/main.rs``, ``build.rs``,
each ``src/bin/*.rs`` and each ``tests/ examples/ benches/ *.rs`` are roots of their own (as is
``<name>/main.rs`` in those directories, for files below it); every other file belongs to the lib
(``[lib] path``, default ``src/lib.rs``), else to ``src/main.rs``. Without a ``Cargo.toml`` the
nearest ``lib.rs`` or ``main.rs`` above the file is the root.

A path starts at ``crate``, ``self``, ``super`` (repeatable), a child module of the importer (the
2018 edition's relative paths), or the name of a crate of this repository (its lib root); other
crates are external and resolve to nothing. The longest prefix that is a module file becomes
``modules``; when the whole path is modules, imported names that are modules go into ``names``.
``mod::x`` (a bodiless ``mod x;``) resolves to the child module file. ``#[path]`` is not read.
"""

from __future__ import annotations

import posixpath
import tomllib
from dataclasses import dataclass

from ..model import Import
from . import ImportTargets, RepoLayout, ancestors, config_texts, join, memo, nearest, parent, whole_path

importer_key = whole_path  # the importer is a module: its own file decides its children and crate root

_ROOT_DIRS = ("src/bin", "tests", "examples", "benches")  # each file directly inside is a root


@dataclass(frozen=True)
class _Package:
    directory: str
    lib: str | None  # the lib crate root, when the package has one
    crate: str | None  # the lib crate's name as written in paths


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one ``use`` path (or ``mod::name`` declaration) from ``importer``."""
    segments = imp.module.removeprefix("::").split("::")
    if segments[0] == "mod":
        child = _child(layout, importer, segments[1]) if len(segments) == 2 else None
        return ImportTargets(modules=(child,) if child else ())
    start, rest = _start(layout, importer, segments)
    if start is None:
        return ImportTargets()
    module, walked = _walk(layout, start, rest)
    names = {}
    if walked == len(rest):
        for imported in imp.names:
            if imported.name in ("*", "self"):
                continue
            path = imported.name.split("::")
            file, depth = _walk(layout, module, path)
            if depth == len(path):
                names[imported.name] = file
    return ImportTargets(modules=(module,), names=names)


def _start(layout: RepoLayout, importer: str, segments: list[str]) -> tuple[str | None, list[str]]:
    """The module file a path starts from, and the segments left to walk."""
    head = segments[0]
    if head == "crate":
        return _crate_root(layout, importer), segments[1:]
    if head == "self":
        return importer, segments[1:]
    if head == "super":
        module: str | None = importer
        while segments and segments[0] == "super" and module is not None:
            module, segments = _parent_module(layout, module), segments[1:]
        return module, segments
    if _child(layout, importer, head):
        return importer, segments
    return _crates(layout).get(head), segments[1:]


def _walk(layout: RepoLayout, module: str, segments: list[str]) -> tuple[str, int]:
    """Follow child modules as far as they exist: (last module file, segments consumed)."""
    for depth, segment in enumerate(segments):
        child = _child(layout, module, segment)
        if child is None:
            return module, depth
        module = child
    return module, len(segments)


def _child(layout: RepoLayout, module: str, name: str) -> str | None:
    directory = _children_dir(layout, module)
    candidates = (join(directory, name + ".rs"), join(directory, name, "mod.rs"))
    return next((c for c in candidates if c in layout.files), None)


def _children_dir(layout: RepoLayout, module: str) -> str:
    if posixpath.basename(module) == "mod.rs" or _crate_root(layout, module) == module:
        return parent(module)
    return module.removesuffix(".rs")


def _parent_module(layout: RepoLayout, module: str) -> str | None:
    """The module whose children directory holds ``module``; None above a crate root."""
    root = _crate_root(layout, module)
    if root == module:
        return None
    owner = parent(parent(module)) if posixpath.basename(module) == "mod.rs" else parent(module)
    if root is not None and parent(root) == owner:
        return root
    candidates = (join(owner, "mod.rs"), owner + ".rs")
    return next((c for c in candidates if owner and c in layout.files), None)


def _crate_root(layout: RepoLayout, file: str) -> str | None:
    roots: dict[str, str | None] = memo(layout, "rust:roots", dict)
    if file not in roots:
        roots[file] = _find_crate_root(layout, file)
    return roots[file]


def _find_crate_root(layout: RepoLayout, file: str) -> str | None:
    packages = _packages(layout)
    home = nearest(packages, parent(file))
    if home is None:
        for directory in ancestors(parent(file)):
            for name in ("lib.rs", "main.rs"):
                if join(directory, name) in layout.files:
                    return join(directory, name)
        return None
    package = packages[home]
    relative = file[len(home) + 1 :] if home else file
    main = join(home, "src", "main.rs")
    if file in (package.lib, main, join(home, "build.rs")):
        return file
    for root_dir in _ROOT_DIRS:
        if relative.startswith(root_dir + "/"):
            inside = relative[len(root_dir) + 1 :].split("/")
            if len(inside) == 1:
                return file
            own_main = join(home, root_dir, inside[0], "main.rs")
            return own_main if own_main in layout.files else None
    return package.lib or (main if main in layout.files else None)


def _packages(layout: RepoLayout) -> dict[str, _Package]:
    """Cargo packages by directory."""

    def build() -> dict[str, _Package]:
        found = {}
        for directory, text in config_texts(layout, "Cargo.toml", (".rs",)).items():
            try:
                manifest = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                manifest = {}
            lib = manifest.get("lib") if isinstance(manifest.get("lib"), dict) else {}
            package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
            root = join(directory, str(lib.get("path", "src/lib.rs")))
            name = lib.get("name") or package.get("name")
            crate = name.replace("-", "_") if isinstance(name, str) else None
            found[directory] = _Package(directory, root if root in layout.files else None, crate)
        return found

    return memo(layout, "rust:packages", build)


def _crates(layout: RepoLayout) -> dict[str, str]:
    """Lib crate name -> its root file, for every package of the repository."""

    def build() -> dict[str, str]:
        packages = sorted(_packages(layout).values(), key=lambda p: (len(p.directory), p.directory))
        found: dict[str, str] = {}
        for package in packages:
            if package.crate and package.lib:
                found.setdefault(package.crate, package.lib)
        return found

    return memo(layout, "rust:crates", build)
