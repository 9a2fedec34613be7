"""Go to definition and find references: what the identifier under the cursor denotes.

The identifier is read from the buffer-aware text (an open editor buffer wins over the disk), then
resolved the way the index resolves names: the definition the cursor is on, definitions nested in
the enclosing scopes, the file's own top-level names and its imports (through re-exports and star
imports), dotted module/class members, and receivers whose class is inferred (``self.x``,
``client = Client()``). References are every occurrence of the name whose own resolution lands on
the same definition, so a same-named symbol of another scope is never reported.
"""

from __future__ import annotations

import keyword
import posixpath
import re
from dataclasses import dataclass

from indexer import Definition, StoredDefinition

from .edits import Position, Range
from .workspace import Workspace

_INITS = ("/__init__.py", "/__init__.pyi")
MAX_REFERENCE_CANDIDATES = 20000  # occurrences of one name examined before giving up on the rest
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_IMPORT_LINE = re.compile(r"^\s*(?:from\s+\S+\s+)?import\b|^\s*import\b")


@dataclass(frozen=True)
class Location:
    """A place the editor can open: a workspace-relative path and a range in it."""

    path: str
    range: Range

    @property
    def line(self) -> int:
        """1-based line, as people cite it (``path:line``)."""
        return self.range.start.line + 1


@dataclass(frozen=True)
class Token:
    """The identifier at a position and the dotted expression it ends (``self.client.send``)."""

    name: str
    line: int  # 0-based
    start: int  # code points
    end: int
    chain: str


class SourceLines:
    """Buffer-aware file lines, read once per request."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lines: dict[str, list[str]] = {}
        self._texts: dict[str, str | None] = {}

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            lines = self.lines(path)
            self._texts[path] = "\n".join(lines) if lines else self.ws.index.source_text(path)
        return self._texts[path]

    def lines(self, path: str) -> list[str]:
        if path not in self._lines:
            text = self.ws.index.source_text(path)
            self._lines[path] = text.split("\n") if text is not None else []
        return self._lines[path]

    def line(self, path: str, line: int) -> str:
        """A 0-based line, or "" past the end."""
        lines = self.lines(path)
        return lines[line] if 0 <= line < len(lines) else ""

    def column(self, path: str, line: int, byte_col: int) -> int:
        """The code-point column of a UTF-8 byte column (the index stores byte columns)."""
        return len(self.line(path, line).encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def token_at(line_text: str, line: int, column: int) -> Token | None:
    """The identifier touching ``column`` (cursor inside it or just after it), with its dotted chain."""
    for match in _IDENT.finditer(line_text):
        if match.start() <= column <= match.end():
            name = match.group()
            if keyword.iskeyword(name) or name[0].isdigit():
                return None
            start = match.start()
            chain_start = start
            while True:
                before = line_text[:chain_start].rstrip()
                if not before.endswith(".") or before.endswith(".."):
                    break
                head = re.search(r"([A-Za-z_$][\w$]*)\s*$", before[:-1])
                if head is None:
                    break
                chain_start = head.start(1)
            chain = re.sub(r"\s+", "", line_text[chain_start : match.end()])
            return Token(name, line, start, match.end(), chain)
    return None


def definition_location(lines: SourceLines, stored: StoredDefinition) -> Location:
    """Where a definition's name is (a whole module: the top of its file)."""
    definition = stored.definition
    if stored.ord < 0:
        return Location(stored.path, Range.of(0, 0, 0, 0))
    line = definition.name_line - 1
    start = lines.column(stored.path, line, definition.name_col)
    return Location(stored.path, Range.of(line, start, line, start + len(definition.name)))


def definition_at(ws: Workspace, path: str, position: Position) -> list[Location]:
    """Where the symbol at ``position`` is defined (several places when it is ambiguous)."""
    lines = SourceLines(ws)
    return [definition_location(lines, d) for d in symbols_at(ws, ws.relative(path), position, lines)]


def symbols_at(
    ws: Workspace, path: str, position: Position, lines: SourceLines | None = None
) -> list[StoredDefinition]:
    """The definitions the identifier at ``position`` denotes; [] when there is none there."""
    lines = lines or SourceLines(ws)
    token = token_at(lines.line(path, position.line), position.line, position.column)
    if token is None:
        return []
    return Resolver(ws, lines).resolve(path, token)


def references_at(ws: Workspace, path: str, position: Position, include_declaration: bool = True) -> list[Location]:
    """Every place that refers to the symbol at ``position``, across the workspace, in file order."""
    lines = SourceLines(ws)
    targets = symbols_at(ws, ws.relative(path), position, lines)
    found: set[Location] = set()
    for target in targets:
        found.update(references_of(ws, target, lines, include_declaration))
    return sorted(found, key=_location_key)


def references_of(
    ws: Workspace,
    target: StoredDefinition,
    lines: SourceLines | None = None,
    include_declaration: bool = True,
    resolver: Resolver | None = None,
) -> list[Location]:
    """Occurrences of a definition's name that resolve to it (module pseudo-definitions: none).
    ``resolver`` (strict, over ``lines``) lets several calls share what they resolve."""
    lines = lines or SourceLines(ws)
    if target.ord < 0:
        return []
    resolver = resolver or Resolver(ws, lines, allow_global=False)
    key = (target.path, target.ord)
    name = target.definition.name
    found: list[Location] = []
    for occurrence in ws.index.references(name)[:MAX_REFERENCE_CANDIDATES]:
        line = occurrence.line - 1
        start = lines.column(occurrence.path, line, occurrence.col)
        token = token_at(lines.line(occurrence.path, line), line, start)
        if token is None or token.name != name:
            continue
        if any((d.path, d.ord) == key for d in resolver.resolve(occurrence.path, token)):
            found.append(Location(occurrence.path, Range.of(line, start, line, token.end)))
    if include_declaration:
        found.append(definition_location(lines, target))
    return sorted(set(found), key=_location_key)


class Resolver:
    """Resolves tokens to definitions, caching what several tokens of one request share.

    ``allow_global=False`` refuses the index's last-resort rule (any top-level definition of the
    name anywhere): a name the file neither defines nor imports is then nobody's reference.
    """

    def __init__(self, ws: Workspace, lines: SourceLines, allow_global: bool = True) -> None:
        self.ws = ws
        self.lines = lines
        self.allow_global = allow_global
        self._names: dict[tuple[str, str], list[StoredDefinition]] = {}
        self._definitions: dict[str, list[StoredDefinition]] = {}
        self._bound: dict[str, set[str] | None] = {}
        self._receivers: dict[tuple[str, int, str], list[StoredDefinition]] = {}
        self._import_rows: dict[str, list] = {}

    def resolve(self, path: str, token: Token) -> list[StoredDefinition]:
        own = self._definition_named_at(path, token)
        if own is not None:
            return [own]
        line_text = self.lines.line(path, token.line)
        if _IMPORT_LINE.match(line_text) and path.endswith((".py", ".pyi")):
            modules = self._import_module_at(path, token, line_text)
            if modules is not None:
                return modules
        parts = token.chain.split(".")
        if len(parts) == 1:
            nested = self._nested(path, token)
            if nested:
                return nested
        if parts[0] not in ("self", "this", "cls") and self._is_bound(path, parts[0]):
            found = self._resolve_name(path, token.chain)
            if found:
                return found
        if len(parts) > 1:
            return self._through_receiver(path, token, parts)
        return []

    def _resolve_name(self, path: str, dotted: str) -> list[StoredDefinition]:
        key = (path, dotted)
        if key not in self._names:
            strict = self._through_import(path, dotted) if path.endswith((".py", ".pyi")) else None
            self._names[key] = strict if strict is not None else self.ws.index.resolve(path, dotted)
        return self._names[key]

    def _through_import(self, path: str, dotted: str) -> list[StoredDefinition] | None:
        """A name a Python import binds, followed only through that import: the index's last resort
        (any definition of that name anywhere) would otherwise answer for a name that comes from
        outside the workspace (``from lzma import LZMACompressor`` landing on zipfile's class).
        None where the index's own rules apply (a local name, a star import, ``import a.b``)."""
        head, *rest = dotted.split(".")
        if any(d.definition.name == head and d.definition.parent == -1 for d in self._defs(path)):
            return None
        rows = [r for r in self._imports(path) if r.name != "*" and bound_name(r) == head]
        if not rows or any(r.name is None and "." in r.module and not r.alias for r in rows):
            return None
        found: list[StoredDefinition] = []
        for row in rows:
            for target in row.targets:
                module = self._module(target)
                if row.name is None or imports_submodule(row, target):
                    found.append(module)
                else:
                    found += self.ws.index.members(module, row.name)
        for part in rest:
            found = [member for owner in found for member in self.ws.index.members(owner, part)]
        return list({(d.path, d.ord): d for d in found}.values())

    def _imports(self, path: str) -> list:
        if path not in self._import_rows:
            self._import_rows[path] = self.ws.index.imports_of(path)
        return self._import_rows[path]

    def _defs(self, path: str) -> list[StoredDefinition]:
        if path not in self._definitions:
            self._definitions[path] = self.ws.index.definitions(path)
        return self._definitions[path]

    def _definition_named_at(self, path: str, token: Token) -> StoredDefinition | None:
        """The definition whose own name the token is."""
        for stored in self._defs(path):
            d = stored.definition
            if d.name_line - 1 == token.line and d.name == token.name:
                if self.lines.column(path, token.line, d.name_col) == token.start:
                    return stored
        return None

    def _enclosing(self, path: str, line: int) -> list[StoredDefinition]:
        """Definitions spanning a 0-based line, innermost first."""
        spans = [s for s in self._defs(path) if s.definition.start_line <= line + 1 <= s.definition.end_line]
        return sorted(spans, key=lambda s: -s.definition.start_line)

    def _nested(self, path: str, token: Token) -> list[StoredDefinition]:
        """A name defined inside an enclosing function (not a class body: its names are no scope)."""
        for scope in self._enclosing(path, token.line):
            if scope.definition.kind not in ("function", "method"):
                continue
            inner = [
                s for s in self._defs(path) if s.definition.parent == scope.ord and s.definition.name == token.name
            ]
            if inner:
                return inner
        return []

    def _is_bound(self, path: str, head: str) -> bool:
        """Whether the file defines or imports ``head`` (or star-imports, which might bring it)."""
        if self.allow_global:
            return True
        if path not in self._bound:
            names: set[str] | None = {s.definition.name for s in self._defs(path) if s.definition.parent == -1}
            for row in self._imports(path):
                if row.name == "*":
                    names = None
                    break
                names.add(bound_name(row))
            self._bound[path] = names
        names = self._bound[path]
        return names is None or head in names

    def _import_module_at(self, path: str, token: Token, line_text: str) -> list[StoredDefinition] | None:
        """The module a Python import statement names, when the token is part of its spelling."""
        match = re.match(r"\s*from\s+(\S+)\s+import\b", line_text)
        if match is not None and token.start >= match.end(1):
            return self._imported_name_at(path, token)
        targets: set[str] = set()
        for row in self._imports(path):
            if row.line - 1 != token.line:
                continue
            if match is not None and row.name is not None and any(module_stem(t) == row.name for t in row.targets):
                continue  # that target is the imported submodule, not the module spelled here
            targets.update(row.targets)
        if not targets:  # every name is a submodule: the module spelled is their package
            for row in self._imports(path):
                if row.line - 1 == token.line:
                    package = {posixpath.join(posixpath.dirname(t), "__init__.py") for t in row.targets}
                    targets.update(p for p in package if self.ws.is_indexed(p))
        return [self._module(target) for target in sorted(targets)]

    def _imported_name_at(self, path: str, token: Token) -> list[StoredDefinition] | None:
        """``from m import name as alias``, the cursor on ``name``: what the statement binds."""
        rows = [r for r in self._imports(path) if r.line - 1 <= token.line and r.name == token.name]
        if not rows:
            return None
        return self._resolve_name(path, bound_name(max(rows, key=lambda r: r.line)))

    def _module(self, path: str) -> StoredDefinition:
        line_count = max(len(self.lines.lines(path)), 1)
        return StoredDefinition(path, -1, Definition(module_stem(path), path, "module", 1, line_count, 1, 0))

    def _through_receiver(self, path: str, token: Token, parts: list[str]) -> list[StoredDefinition]:
        """``self.m``, ``self.attr.m``, ``client.m``: members of the receiver's inferred class."""
        receiver = ".".join(parts[:-1])
        if receiver in ("self", "cls", "this"):
            owners = [s for s in self._enclosing(path, token.line) if s.definition.kind in ("class", "interface")]
            owners = owners[:1]
        else:
            key = (path, token.line, receiver)
            if key not in self._receivers:  # `ctx.a(...)`, `ctx.b(...)` on one line infer `ctx` once
                text = self.lines.text(path)
                self._receivers[key] = self.ws.index.receiver_classes(path, token.line + 1, receiver, text)
            owners = self._receivers[key]
        found: list[StoredDefinition] = []
        for owner in owners:
            found += [m for m in self.ws.index.members(owner, parts[-1]) if m not in found]
        return found


def bound_name(row) -> str:
    """The local name an import row binds (``import a.b`` binds ``a``)."""
    if row.alias:
        return row.alias
    if row.name is not None:
        return re.split(r"::|\.", row.name)[-1]
    module = row.module.strip("\"'<>")
    if "/" in module:
        return module.rstrip("/").rsplit("/", 1)[-1]
    return module.split(".", 1)[0].lstrip(".")


def imports_submodule(row, target: str) -> bool:
    """``from pkg import sub`` resolved to the file of ``sub`` itself, rather than ``from .x import x``
    resolved to module ``x`` (which must then define ``x``)."""
    if module_stem(target) != row.name:
        return False
    last = re.split(r"[./]", row.module.rstrip("."))[-1]
    if last != row.name:
        return True
    return posixpath.basename(posixpath.dirname(target)) == row.name and not target.endswith(_INITS)


def module_stem(path: str) -> str:
    parts = path.rsplit("/", 2)
    stem = parts[-1].split(".", 1)[0]
    if stem in ("__init__", "index", "mod") and len(parts) > 1:
        return parts[-2]
    return stem


def _location_key(location: Location) -> tuple[str, int, int]:
    return (location.path, location.range.start.line, location.range.start.column)
