"""What a name means as seen from one file: local definitions, imports, re-exports, members.

The rules, in order, for the head of a (possibly dotted) name:
1. a top-level definition of the file itself;
2. a name bound by one of the file's imports (``from m import x as name``, ``import m as name``,
   ``import a.b`` binding ``a``, JS ``import * as name``), followed through re-exports
   (``__init__`` imports, ``export ... from``, ``pub use``) and star imports of the target;
3. a star import of the file that provides it;
4. failing all of those, every top-level definition of that name in the repository (best effort).
Each further part of a dotted name is a member: a module's top-level definition or submodule, or
a class's member, looked up through base classes named in the class signature.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .model import Definition
from .store import ImportRow, Store, StoredDefinition

MAX_DEPTH = 8
CLASS_KINDS = frozenset({"class", "interface", "struct", "trait", "enum", "impl"})
_PY_BASES = re.compile(r"^class\s+\w+\s*(?:\[[^\]]*\])?\s*\((?P<bases>.*)\)\s*$")
_EXTENDS = re.compile(r"\b(?:extends|implements)\s+(?P<bases>[\w.$<>, ]+?)(?:\s*\{|\s*$|\s+implements\b)")


def resolve_name(store: Store, path: str, name: str) -> list[StoredDefinition]:
    parts = [part for part in name.split(".") if part]
    if not parts:
        return []
    targets, consumed = _resolve_head(store, path, parts)
    for part in parts[consumed:]:
        targets = _dedupe([member for target in targets for member in _members(store, target, part, 0)])
        if not targets:
            break
    return targets


def _resolve_head(store: Store, path: str, parts: list[str]) -> tuple[list[StoredDefinition], int]:
    """Definitions for the first part(s) of a dotted name and how many parts they cover."""
    head = parts[0]
    local = [d for d in store.definitions_named(head, path) if d.definition.parent == -1]
    if local:
        return local, 1
    imports = store.imports_of(path)
    dotted = ".".join(parts)
    for row in imports:  # `import a.b.c` then `a.b.c.f`: the whole module spelling is the head
        if row.name is None and row.alias is None and "." in row.module and dotted.startswith(row.module + "."):
            return _modules(store, row.targets), row.module.count(".") + 1
    found = _from_imports(store, imports, head, 0, set())
    if found:
        return found, 1
    global_matches = [d for d in store.definitions_named(head) if d.definition.parent == -1]
    return global_matches, 1


def _from_imports(
    store: Store, imports: list[ImportRow], name: str, depth: int, seen: set[tuple[str, str]]
) -> list[StoredDefinition]:
    """``name`` as bound by these import rows (all from one file), including star imports."""
    found: list[StoredDefinition] = []
    for row in imports:
        if row.name == "*" or _bound_name(row) != name:
            continue
        if row.name is None:
            found += _modules(store, _bound_packages(store, row))
        else:
            for target in row.targets:
                if _imports_submodule(row, target):
                    found += _modules(store, (target,))
                else:
                    found += _lookup_in_module(store, target, row.name, depth + 1, seen)
    if not found:
        for row in imports:
            if row.name == "*":
                for target in row.targets:
                    found += _lookup_in_module(store, target, name, depth + 1, seen)
    return _dedupe(found)


def _bound_packages(store: Store, row: ImportRow) -> tuple[str, ...]:
    """The files a whole-module import binds: Python ``import a.b`` binds the package ``a``, not ``a/b.py``."""
    if row.alias or not row.path.endswith((".py", ".pyi")) or "." not in row.module.strip("."):
        return row.targets
    levels = row.module.count(".")
    packages = []
    for target in row.targets:
        folder = PurePosixPath(target).parent
        if PurePosixPath(target).stem == "__init__":
            folder = folder.parent
        for _ in range(levels - 1):
            folder = folder.parent
        package = f"{folder}/__init__.py"
        if store.file(package) is not None:
            packages.append(package)
    return tuple(packages)


def _bound_name(row: ImportRow) -> str | None:
    """The local name an import row introduces."""
    if row.alias:
        return row.alias
    if row.name is not None:
        return row.name.rsplit("::", 1)[-1].rsplit(".", 1)[-1]
    module = row.module.strip("\"'<>")
    if "/" in module:  # Go and JS paths bind their last component
        return module.rstrip("/").rsplit("/", 1)[-1]
    if "::" in module:
        return module.rsplit("::", 1)[-1]
    if row.path.endswith(".java"):
        return module.rsplit(".", 1)[-1]
    return module.split(".", 1)[0].lstrip(".") or None


def _lookup_in_module(
    store: Store, path: str, name: str, depth: int, seen: set[tuple[str, str]]
) -> list[StoredDefinition]:
    """A top-level ``name`` in module ``path``, following its re-exports and star imports."""
    if depth > MAX_DEPTH or (path, name) in seen:
        return []
    seen.add((path, name))
    own = [d for d in store.definitions_named(name, path) if d.definition.parent == -1]
    if own:
        return own
    if _module_named(path, name):  # `from pkg import sub` resolved straight to the submodule
        return _modules(store, (path,))
    return _from_imports(store, store.imports_of(path), name, depth, seen)


def member_definitions(store: Store, target: StoredDefinition, name: str) -> list[StoredDefinition]:
    """``name`` as a member of a module or class definition (classes through their bases)."""
    return _members(store, target, name, 0)


def _members(store: Store, target: StoredDefinition, name: str, depth: int) -> list[StoredDefinition]:
    definition = target.definition
    if definition.kind == "module":
        found = _lookup_in_module(store, target.path, name, depth, set())
        return found or _modules(store, _submodule_files(store, target.path, name))
    if definition.kind not in CLASS_KINDS or depth > MAX_DEPTH:
        return []
    members = [
        d for d in store.definitions_named(name, target.path) if d.definition.parent == target.ord
    ]
    if members:
        return members
    for base in base_names(definition.signature):
        for base_def in resolve_name(store, target.path, base):
            if (base_def.path, base_def.ord) != (target.path, target.ord):
                members += _members(store, base_def, name, depth + 1)
    return _dedupe(members)


def all_member_definitions(store: Store, target: StoredDefinition) -> list[StoredDefinition]:
    """A class's own members, then its bases' (nearest first, overridden names once); a module's
    top-level definitions."""
    if target.definition.kind == "module":
        return [d for d in store.definitions_in(target.path) if d.definition.parent == -1]
    found: list[StoredDefinition] = []
    seen_names: set[str] = set()
    queue, visited = [(target, 0)], set()
    while queue:
        current, depth = queue.pop(0)
        key = (current.path, current.ord)
        if key in visited or current.definition.kind not in CLASS_KINDS or depth > MAX_DEPTH:
            continue
        visited.add(key)
        for member in store.definitions_in(current.path):
            if member.definition.parent == current.ord and member.definition.name not in seen_names:
                seen_names.add(member.definition.name)
                found.append(member)
        for base in base_names(current.definition.signature):
            queue.extend((base_def, depth + 1) for base_def in resolve_name(store, current.path, base))
    return found


def base_names(signature: str) -> list[str]:
    """Base classes named in a class signature (Python parentheses, or extends/implements)."""
    match = _PY_BASES.match(signature)
    if match:
        bases = [b.strip() for b in split_top_level(match.group("bases"))]
        return [b for b in bases if b and "=" not in b and re.fullmatch(r"[\w.]+", b)]
    names = []
    for match in _EXTENDS.finditer(signature):
        for base in split_top_level(match.group("bases")):
            base = re.sub(r"<.*", "", base).strip()
            if re.fullmatch(r"[\w.$]+", base):
                names.append(base)
    return names


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([<{":
            depth += 1
        elif char in ")]>}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _imports_submodule(row: ImportRow, target: str) -> bool:
    """``from pkg import sub`` resolved to the file of ``sub`` itself (not ``from .sub import sub``),
    so the name is the module even when that module defines a top-level ``sub`` too."""
    return _last_module_component(row.module) != row.name and _module_named(target, row.name)


def _last_module_component(spelling: str) -> str:
    """``a.b`` -> ``b``, ``./x/y.js`` -> ``y``, ``crate::m`` -> ``m``, ``.`` -> ``""``."""
    if "/" in spelling:
        return spelling.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    return re.split(r"\.|::", spelling.rstrip("."))[-1]


def _module_named(path: str, name: str) -> bool:
    pure = PurePosixPath(path)
    stem = pure.parent.name if pure.stem in ("__init__", "index", "mod") else pure.stem
    return stem == name


def _submodule_files(store: Store, module_path: str, name: str) -> tuple[str, ...]:
    pure = PurePosixPath(module_path)
    directory = pure.parent if pure.stem in ("__init__", "index", "mod") else pure.parent / pure.stem
    candidates = [f"{directory}/{name}{suffix}" for suffix in (".py", ".pyi", ".ts", ".tsx", ".js", ".rs")]
    candidates += [f"{directory}/{name}/{index}" for index in ("__init__.py", "index.ts", "index.js", "mod.rs")]
    return tuple(c for c in candidates if store.file(c) is not None)[:1]


def _modules(store: Store, paths: tuple[str, ...] | list[str]) -> list[StoredDefinition]:
    """Whole files stand for modules: a pseudo-definition spanning the file."""
    found = []
    for path in paths:
        row = store.file(path)
        if row is None:
            continue
        stem = PurePosixPath(path).stem
        definition = Definition(stem, path, "module", 1, max(row.line_count, 1), 1, 0)
        found.append(StoredDefinition(path, -1, definition))
    return found


def _dedupe(definitions: list[StoredDefinition]) -> list[StoredDefinition]:
    seen: set[tuple[str, int]] = set()
    unique = []
    for d in definitions:
        key = (d.path, d.ord)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique
