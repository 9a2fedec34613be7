"""Imports that lead nowhere: unresolved workspace modules, and names a workspace module does not
define (misspelled, or removed or renamed there — an open buffer of that module counts).

Only the workspace's own modules are judged: a module outside it (standard library, third party)
is never an error. Guarded imports (inside ``try``/``if``, ``TYPE_CHECKING``) are left alone.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterator
from itertools import groupby

from indexer import ImportRow

from ..edits import FileChange, Range, TextEdit, WorkspaceChange
from ..navigate import bound_name
from .context import FileContext
from .finding import Finding
from .modules import MODULE_DUNDERS, SCRIPT_SUFFIXES, imports_submodule, is_conditional, is_python, is_script

CLOSE_MATCH_CUTOFF = 0.75
_ASSET_SUFFIX = re.compile(r"\.(?!(?:[cm]?[jt]sx?)$)\w+$")


def check_imports(ctx: FileContext) -> Iterator[Finding]:
    statements = groupby(sorted(ctx.rows, key=lambda r: (r.line, r.module, r.id)), key=lambda r: (r.line, r.module))
    for (line, module), group in statements:
        rows = list(group)
        if is_conditional(ctx.text_lines, line - 1):
            continue
        if is_python(ctx.path):
            yield from _python_statement(ctx, line - 1, module, rows)
        elif is_script(ctx.path):
            yield from _script_statement(ctx, line - 1, module, rows)


def _python_statement(ctx: FileContext, line: int, module: str, rows: list[ImportRow]) -> Iterator[Finding]:
    if all(not row.targets for row in rows):
        if ctx.facts.is_judged(module) and not _exists_elsewhere(ctx, module):
            yield _unresolved(ctx, line, module)
        return
    if not ctx.facts.is_judged(module):
        return  # a package found somewhere below the root: how it is imported is not ours to know
    for row in rows:
        if row.name in (None, "*") or not row.targets or row.name in MODULE_DUNDERS:
            continue
        if any(imports_submodule(row, target) for target in row.targets):
            continue  # `from pkg import submodule`
        if any(ctx.facts.provides(target, row.name) for target in row.targets):
            continue
        yield _unknown_name(ctx, line, row)


def _script_statement(ctx: FileContext, line: int, module: str, rows: list[ImportRow]) -> Iterator[Finding]:
    spelling = module.strip("\"'")
    if not spelling.startswith("."):
        return  # packages and path aliases: resolved outside the workspace's sources, never judged
    if all(not row.targets for row in rows):
        if not _ASSET_SUFFIX.search(spelling) and not _script_file_exists(ctx, spelling):
            yield _unresolved(ctx, line, spelling)
        return
    for row in rows:
        if row.name in (None, "*") or not row.targets:
            continue
        if any(ctx.facts.provides(target, row.name) for target in row.targets):
            continue
        yield _unknown_name(ctx, line, row)


def _exists_elsewhere(ctx: FileContext, module: str) -> bool:
    """A file the index does not hold answers the import: a native extension, an ignored file."""
    base = _module_base(ctx.path, module) if module.startswith(".") else _absolute_base(ctx, module)
    return base is None or ctx.facts.module_file_exists(base)


def _absolute_base(ctx: FileContext, module: str) -> str | None:
    """The path (no suffix) of an absolute module under the folder of its top-level package;
    None when a parent is a plain module (whatever follows is made at run time: ``sys.modules``)."""
    top, _, rest = module.partition(".")
    for path in ctx.ws.index.store.paths():
        folder = posixpath.dirname(path)
        if posixpath.basename(path) == "__init__.py" and posixpath.basename(folder) == top:
            parts = rest.split(".") if rest else []
            for depth in range(1, len(parts)):
                prefix = posixpath.join(folder, *parts[:depth])
                if ctx.ws.is_indexed(prefix + ".py") or ctx.ws.is_indexed(prefix + ".pyi"):
                    return None
            return posixpath.join(folder, *parts)
    return None


def _module_base(importer: str, module: str) -> str | None:
    """The path (no suffix) a relative module spelling names."""
    rest = module.lstrip(".")
    base = posixpath.dirname(importer)
    for _ in range(len(module) - len(rest) - 1):
        if not base:
            return None
        base = posixpath.dirname(base)
    return posixpath.join(base, *rest.split(".")) if rest else base


def _script_file_exists(ctx: FileContext, spelling: str) -> bool:
    """Any file for the spelling, with or without its script extension: ``./x.cjs`` in a
    declaration file means ``x.d.cts``; an unindexed or ignored file still answers."""
    base = ctx.ws.root / posixpath.normpath(posixpath.join(posixpath.dirname(ctx.path), spelling))
    if base.exists():
        return True
    stem = base.name
    for suffix in SCRIPT_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parent = base.parent
    return parent.is_dir() and any(p.name.startswith(stem + ".") for p in parent.iterdir())


def _unresolved(ctx: FileContext, line: int, module: str) -> Finding:
    at = ctx.word_range(line, module)
    message = f"cannot resolve import '{module}': no such module in the workspace"
    return Finding(ctx.path, at, "error", "unresolved-import", message, _module_fix(ctx, at, module))


def _module_fix(ctx: FileContext, at: Range, module: str) -> WorkspaceChange | None:
    """The closest sibling module for a misspelled last component of a relative Python import."""
    if not module.startswith(".") or not module.lstrip(".") or not is_python(ctx.path):
        return None
    base = _module_base(ctx.path, module)
    if base is None:
        return None
    folder, wrong = posixpath.split(base)
    siblings: set[str] = set()
    for path in ctx.ws.index.store.paths():
        if posixpath.dirname(path) == folder and is_python(path):
            siblings.add(_stem(path))
        elif path.endswith("/__init__.py") and posixpath.dirname(posixpath.dirname(path)) == folder:
            siblings.add(posixpath.basename(posixpath.dirname(path)))
    siblings.discard("__init__")
    best = difflib.get_close_matches(wrong, sorted(siblings), n=1, cutoff=CLOSE_MATCH_CUTOFF)
    if not best:
        return None
    fixed = module[: len(module) - len(wrong)] + best[0]
    return _change(f"Import '{fixed}'", ctx.path, [TextEdit(at, fixed)])


def _unknown_name(ctx: FileContext, line: int, row: ImportRow) -> Finding:
    at = ctx.word_range(line, row.name, after="import" if is_python(ctx.path) else None)
    where = ", ".join(row.targets)
    message = f"'{row.name}' is not defined in {row.module} ({where})"
    return Finding(ctx.path, at, "error", "unknown-import-name", message, _name_fix(ctx, at, row))


def _name_fix(ctx: FileContext, at: Range, row: ImportRow) -> WorkspaceChange | None:
    """Import the closest name the module does define; the file's uses follow unless aliased."""
    candidates: set[str] = set()
    for target in row.targets:
        candidates |= {d.definition.name for d in ctx.ws.index.definitions(target) if d.definition.parent == -1}
        candidates |= {bound_name(r) for r in ctx.ws.index.imports_of(target) if r.name != "*"}
    best = difflib.get_close_matches(row.name, sorted(candidates), n=1, cutoff=CLOSE_MATCH_CUTOFF)
    if not best:
        return None
    edits = [TextEdit(at, best[0])]
    if not row.alias:
        for occurrence in ctx.ws.index.references(row.name, [ctx.path]):
            line = occurrence.line - 1
            start = ctx.column(line, occurrence.col)
            use = Range.of(line, start, line, start + len(row.name))
            before = ctx.lines.line(ctx.path, line)[:start].rstrip()
            if use != at and not before.endswith("."):
                edits.append(TextEdit(use, best[0]))
    return _change(f"Import '{best[0]}' instead of '{row.name}'", ctx.path, edits)


def _change(label: str, path: str, edits: list[TextEdit]) -> WorkspaceChange:
    ordered = tuple(sorted(set(edits), key=lambda e: (e.range.start, e.range.end)))
    return WorkspaceChange(label, (FileChange(path, ordered),))


def _stem(path: str) -> str:
    name = posixpath.basename(path)
    for suffix in (".pyi", ".py", *SCRIPT_SUFFIXES):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name.split(".", 1)[0]
