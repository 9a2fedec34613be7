"""Move a top-level TypeScript/JavaScript definition to another module and update every importer.

The definition (with the comment right above it) goes to the end of the target module, with the
imports its code needs re-pointed from there. ``import { x } from "./a"`` and re-exports
``export { x } from "./a"`` are re-pointed at the target (a statement that names other things too
keeps them, and a new statement for ``x`` follows it); specifiers keep their style (``./a.js``
stays ``.js``). If the source module still uses the name, it imports it back. Refused: uses through
a namespace import (``a.x``), and code that uses a definition staying behind (the two modules would
import each other).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from tree_sitter import Node

from indexer import StoredDefinition

from ..edits import FileChange, Range, TextEdit, WorkspaceChange
from ..workspace import Workspace
from .errors import RefactorError
from .occurrences import Finder

JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
IMPORT_KINDS = ("import_statement", "export_statement")


def is_js(path: str) -> bool:
    return path.endswith(JS_SUFFIXES)


def relative_specifier(importer: str, module: str, like: str) -> str:
    """How ``importer`` names ``module`` in an import, in the style of the specifier ``like``
    (no extension, or the one ``like`` has: ``./a.js`` for ``a.ts`` in ESM TypeScript)."""
    stem = module.rsplit(".", 1)[0]
    spelled = posixpath.relpath(stem, posixpath.dirname(importer) or ".")
    spelled = spelled if spelled.startswith(".") else f"./{spelled}"
    extension = re.search(r"\.[cm]?[jt]sx?$", like)
    return spelled + (extension.group(0) if extension else "")


class JsMove:
    """Builds the edits of one move; ``reference_count`` is what validation compares against."""

    def __init__(self, ws: Workspace, finder: Finder, moved: StoredDefinition, destination: str) -> None:
        self.ws, self.finder, self.moved, self.destination = ws, finder, moved, destination
        self.name = moved.definition.name
        self.edits: dict[str, list[TextEdit]] = {}
        self.created = False
        self.reference_count = 0

    def build(self, label: str, versions: Mapping[str, int]) -> WorkspaceChange:
        references = [s for s in self.finder.sites(self.moved) if s.kind in ("reference", "shorthand")]
        self.reference_count = len(references)
        start, end = self._block_lines()
        stays = [s for s in references if s.path == self.moved.path and not start <= s.line < end]
        for path in sorted({s.path for s in references if s.path != self.moved.path}):
            self._rewrite_importer(path, [s for s in references if s.path == path])
        self._add_to_destination(start, end, exported=bool(stays) or self._exported(start, end))
        self._remove_from_source(start, end, import_back=bool(stays))
        files = []
        for path, edits in sorted(self.edits.items()):
            create = path == self.destination and self.created
            files.append(FileChange(path, tuple(edits), None if create else versions.get(path), create))
        return WorkspaceChange(label, tuple(files))

    # -- the moved block -----------------------------------------------------------------------

    def _block_lines(self) -> tuple[int, int]:
        """0-based [start, end) lines of the definition with the comment right above it."""
        lines = self.finder.lines.lines(self.moved.path)
        start, end = self.moved.definition.start_line - 1, self.moved.definition.end_line
        while start > 0 and lines[start - 1].lstrip().startswith(("//", "/*", "*")):
            start -= 1
        return start, end

    def _exported(self, start: int, end: int) -> bool:
        lines = self.finder.lines.lines(self.moved.path)[start:end]
        return any(line.lstrip().startswith("export ") for line in lines)

    def _used_names(self, start: int, end: int) -> set[str]:
        tree = self.finder.tree(self.moved.path)
        used, stack = set(), [tree.root_node]
        while stack:
            node = stack.pop()
            if node.end_point[0] < start or node.start_point[0] >= end:
                continue
            if node.type in ("identifier", "type_identifier", "shorthand_property_identifier"):
                if self.finder._role(self.moved.path, node) in ("head", "shorthand"):
                    used.add(_text(node))
            stack.extend(node.children)
        used.discard(self.name)
        return used

    def _needed_imports(self, start: int, end: int) -> list[str]:
        """Import statements (as the destination must spell them) for the names the block uses."""
        used = self._used_names(start, end)
        staying = {d.definition.name for d in self.ws.index.definitions(self.moved.path) if d.definition.parent == -1}
        for name in sorted(used & staying):
            raise RefactorError(
                f"'{self.name}' uses '{name}', which stays in {self.moved.path}; move '{name}' first or as well"
            )
        statements = []
        for statement in _import_statements(self.finder.tree(self.moved.path).root_node):
            source = statement.child_by_field_name("source")
            clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
            if source is None or clause is None:
                continue
            spec = _string_text(source)
            if spec.startswith("."):
                target = self._target_of(self.moved.path, statement)
                if target is None:
                    raise RefactorError(f"cannot tell which module '{spec}' in {self.moved.path} is")
                spec = relative_specifier(self.destination, target, spec)
            parts = _clause_parts(clause, used)
            if parts:
                kind = "import type" if statement.text.startswith(b"import type") else "import"
                statements.append(f'{kind} {", ".join(parts)} from "{spec}";')
        return statements

    def _target_of(self, path: str, statement: Node) -> str | None:
        line = statement.start_point[0] + 1
        rows = [r for r in self.ws.index.imports_of(path) if r.line == line and r.targets]
        return rows[0].targets[0] if rows else None

    def _add_to_destination(self, start: int, end: int, exported: bool) -> None:
        lines = self.finder.lines.lines(self.moved.path)[start:end]
        if not exported:
            index = next(i for i, line in enumerate(lines) if not line.lstrip().startswith(("//", "/*", "*")))
            lines = [*lines[:index], "export " + lines[index], *lines[index + 1 :]]
        block = "\n".join(lines).rstrip() + "\n"
        imports = self._needed_imports(start, end)
        existing = self.ws.index.source_text(self.destination)
        if existing is None:
            if (self.ws.root / self.destination).exists():
                raise RefactorError(f"{self.destination} exists but is not an indexed TypeScript/JavaScript file")
            self.created = True
            self._edit(self.destination, Range.of(0, 0, 0, 0), ("\n".join(imports) + "\n\n" if imports else "") + block)
            return
        text_lines = existing.split("\n")
        have = {line.strip() for line in text_lines}
        imports = [line for line in imports if line not in have]
        if imports:
            line = self._after_imports(self.destination)
            self._edit(self.destination, Range.of(line, 0, line, 0), "\n".join(imports) + "\n")
        last = len(text_lines) - 1
        separator = "\n" if existing.endswith("\n") else "\n\n"
        self._edit(
            self.destination, Range.of(last, len(text_lines[last]), last, len(text_lines[last])), separator + block
        )

    def _after_imports(self, path: str) -> int:
        tree = self.finder.tree(path)
        line = 0
        for node in tree.root_node.named_children if tree is not None else ():
            if node.type == "import_statement":
                line = node.end_point[0] + 1
            elif node.type != "comment":
                break
        return line

    # -- the source module ----------------------------------------------------------------------

    def _remove_from_source(self, start: int, end: int, import_back: bool) -> None:
        self._edit(self.moved.path, removal(self.finder.lines.lines(self.moved.path), start, end, 1), "")
        if import_back:
            spec = relative_specifier(self.moved.path, self.destination, self._style())
            line = self._after_imports(self.moved.path)
            self._edit(self.moved.path, Range.of(line, 0, line, 0), f'import {{ {self.name} }} from "{spec}";\n')

    def _style(self) -> str:
        """A relative specifier of the source module, whose extension style new ones follow."""
        for statement in _import_statements(self.finder.tree(self.moved.path).root_node):
            source = statement.child_by_field_name("source")
            if source is not None and _string_text(source).startswith("."):
                return _string_text(source)
        return ""

    # -- importers -------------------------------------------------------------------------------

    def _rewrite_importer(self, path: str, sites) -> None:
        statements: dict[int, Node] = {}
        for site in sites:
            node = self.finder.node_at(path, site.line, site.start, self.name)
            role = self.finder._role(path, node) if node is not None else None
            if role == "attribute":
                raise RefactorError(
                    f"'{self.name}' is used through a namespace import at {path}:{site.line + 1}; "
                    "import it by name there first"
                )
            if role == "import":
                statement = _enclosing(node, IMPORT_KINDS)
                if statement is not None and self._imports_from_source(path, statement):
                    statements[statement.start_byte] = statement
        for statement in statements.values():
            if path == self.destination:
                self._drop_specifier(path, statement, None)
            else:
                self._repoint(path, statement)

    def _imports_from_source(self, path: str, statement: Node) -> bool:
        """Whether the statement names the moved module itself (through a re-exporting module, it stays)."""
        line = statement.start_point[0] + 1
        rows = self.ws.index.imports_of(path)
        return any(r.line == line and r.name == self.name and self.moved.path in r.targets for r in rows)

    def _repoint(self, path: str, statement: Node) -> None:
        source = statement.child_by_field_name("source")
        spec = relative_specifier(path, self.destination, _string_text(source))
        mine = [s for s in _specifiers(statement) if _text(s.child_by_field_name("name")) == self.name]
        if len(mine) == len(_specifiers(statement)) and not _default_and_namespace(statement):
            fragment = source.named_children[0] if source.named_children else source
            self._edit(path, self._range(path, fragment), spec)
            return
        moved = _rebuilt(statement, [_text(s) for s in mine], [], spec)
        self._drop_specifier(path, statement, moved)

    def _drop_specifier(self, path: str, statement: Node, then: str | None) -> None:
        """Remove the moved name's specifiers from the statement (the whole statement when nothing
        is left), and put the statement ``then`` right after it."""
        kept = [_text(s) for s in _specifiers(statement) if _text(s.child_by_field_name("name")) != self.name]
        defaults = _default_and_namespace(statement)
        source = _string_text(statement.child_by_field_name("source"))
        rest = _rebuilt(statement, kept, defaults, source) if kept or defaults else ""
        indent = self.finder.lines.line(path, statement.start_point[0])[: statement.start_point[1]]
        text = "\n".join(part for part in (rest, then) if part)
        where = self._range(path, statement)
        if not text and not indent.strip() and where.end.line + 1 < len(self.finder.lines.lines(path)):
            where = Range.of(where.start.line, 0, where.end.line + 1, 0)  # the statement's whole line goes
        self._edit(path, where, text.replace("\n", "\n" + indent))

    def _range(self, path: str, node: Node) -> Range:
        (row, col), (end_row, end_col) = node.start_point, node.end_point
        column = self.finder.lines.column
        return Range.of(row, column(path, row, col), end_row, column(path, end_row, end_col))

    def _edit(self, path: str, where: Range, text: str) -> None:
        self.edits.setdefault(path, []).append(TextEdit(where, text))


def removal(lines: list[str], start: int, end: int, blank_lines: int) -> Range:
    """The range that deletes lines [start, end) and up to ``blank_lines`` blank lines after them."""
    stop = end
    while stop < len(lines) and not lines[stop].strip() and stop - end < blank_lines:
        stop += 1
    return Range.of(start, 0, stop, 0) if stop < len(lines) else Range.of(start, 0, len(lines) - 1, len(lines[-1]))


def _import_statements(root: Node) -> list[Node]:
    return [n for n in root.named_children if n.type == "import_statement"]


def _specifiers(statement: Node) -> list[Node]:
    found, stack = [], list(statement.named_children)
    while stack:
        node = stack.pop()
        if node.type in ("import_specifier", "export_specifier"):
            found.append(node)
        elif node.type in ("import_clause", "named_imports", "export_clause"):
            stack.extend(node.named_children)
    return sorted(found, key=lambda n: n.start_byte)


def _default_and_namespace(statement: Node) -> list[str]:
    """``d`` and ``* as ns`` of ``import d, * as ns from ...``: the parts that are no specifier."""
    clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
    children = clause.named_children if clause is not None else []
    return [_text(c) for c in children if c.type in ("identifier", "namespace_import")]


def _rebuilt(statement: Node, specifiers: list[str], others: list[str], source: str) -> str:
    """The statement, of the same kind, binding ``others`` and ``specifiers`` from ``source``."""
    if statement.type == "export_statement":
        keyword = "export"
    else:
        keyword = "import type" if statement.text.startswith(b"import type") else "import"
    parts = others + (["{ " + ", ".join(specifiers) + " }"] if specifiers else [])
    semicolon = ";" if statement.text.rstrip().endswith(b";") else ""
    quote = _text(statement.child_by_field_name("source"))[:1] or '"'
    return f"{keyword} {', '.join(parts)} from {quote}{source}{quote}{semicolon}"


def _clause_parts(clause: Node, used: set[str]) -> list[str]:
    """The parts of an import clause that bind a name in ``used``: default, namespace, named."""
    parts, named = [], []
    for child in clause.named_children:
        if child.type == "identifier" and _text(child) in used:
            parts.append(_text(child))
        elif child.type == "namespace_import" and child.named_children and _text(child.named_children[0]) in used:
            parts.append(_text(child))
        elif child.type == "named_imports":
            for specifier in child.named_children:
                bound = specifier.child_by_field_name("alias") or specifier.child_by_field_name("name")
                if specifier.type == "import_specifier" and _text(bound) in used:
                    named.append(_text(specifier))
    if named:
        parts.append("{ " + ", ".join(named) + " }")
    return parts


def _enclosing(node: Node, kinds: tuple[str, ...]) -> Node | None:
    while node is not None and node.type not in kinds:
        node = node.parent
    return node


def _string_text(string: Node) -> str:
    return _text(string)[1:-1]


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""
