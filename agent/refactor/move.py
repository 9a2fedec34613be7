"""Move a top-level Python definition to another module and update every importer (TypeScript and
JavaScript: move_js.py, with the same checks).

The definition's text (decorators included) goes to the end of the target module, with imports for
the module-level names it uses. Importers are rewritten: ``from src import name`` becomes
``from target import name`` (split off when the statement imports other names too), and
``src.name`` through ``import src`` becomes ``target.name`` with ``import target`` added. If the
source module still uses the name, it imports it back. Refused when the moved code uses another
definition that stays in the source module (that would make the two modules import each other).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from tree_sitter import Node

from indexer import StoredDefinition

from ..edits import FileChange, Position, Range, TextEdit, WorkspaceChange
from ..workspace import Workspace
from .errors import RefactorError
from .move_js import JsMove, is_js, removal
from .occurrences import Finder, Site, is_python
from .target import find_target
from .validate import check_parses, proposed_texts, scratch_workspace


def move_definition(
    ws: Workspace, path: str, position: Position, target_path: str, versions: Mapping[str, int] | None = None
) -> WorkspaceChange:
    """The change moving the top-level definition at ``position`` into ``target_path``."""
    rel, destination = ws.relative(path), ws.relative(target_path)
    python = is_python(rel) and is_python(destination)
    if not python and not (is_js(rel) and is_js(destination)):
        raise RefactorError("move goes between Python modules (.py) or between TypeScript/JavaScript modules")
    if rel == destination:
        raise RefactorError("the definition is already in that module")
    finder = Finder(ws)
    _, moved = find_target(finder, rel, position)
    if moved.path != rel or moved.definition.parent != -1:
        raise RefactorError("put the cursor on the name of a top-level definition of this file to move it")
    name = moved.definition.name
    if finder._binds(destination, name) and not _imports_from(ws, destination, name, rel):
        raise RefactorError(f"{destination} already defines or imports '{name}'")
    plan = _Plan(ws, finder, moved, destination) if python else JsMove(ws, finder, moved, destination)
    change = plan.build(f"Move '{name}' to {destination}", versions or {})
    _validate_move(ws, change, moved, destination, plan.reference_count)
    return change


def module_name(ws: Workspace, path: str) -> str:
    """The dotted module a file is imported as: its folders up to the last one with ``__init__.py``."""
    pure = PurePosixPath(path)
    parts = [] if pure.stem == "__init__" else [pure.stem]
    folder = pure.parent
    while str(folder) not in ("", ".") and (ws.root / folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


class _Plan:
    def __init__(self, ws: Workspace, finder: Finder, moved: StoredDefinition, destination: str) -> None:
        self.ws, self.finder, self.moved, self.destination = ws, finder, moved, destination
        self.name = moved.definition.name
        self.source_module = module_name(ws, moved.path)
        self.target_module = module_name(ws, destination)
        self.edits: dict[str, list[TextEdit]] = {}
        self.created = False
        self.reference_count = 0

    def build(self, label: str, versions: Mapping[str, int]) -> WorkspaceChange:
        sites = self.finder.sites(self.moved)
        references = [s for s in sites if s.kind == "reference"]
        self.reference_count = len(references)
        block_start, block_end = self.moved.definition.start_line - 1, self.moved.definition.end_line
        lines = self.finder.lines.lines(self.moved.path)
        while block_start > 0 and lines[block_start - 1].lstrip().startswith("#"):
            block_start -= 1  # a comment right above belongs to the definition: it moves with it
        inside = [s for s in references if s.path == self.moved.path and block_start <= s.line < block_end]
        outside_source = [s for s in references if s.path == self.moved.path and s not in inside]
        self._add_to_destination(block_start, block_end)
        self._remove_from_source(block_start, block_end, needs_import_back=bool(outside_source))
        for path in sorted({s.path for s in references if s.path != self.moved.path}):
            self._rewrite_importer(path, [s for s in references if s.path == path])
        files = []
        for path, edits in sorted(self.edits.items()):
            create = path == self.destination and self.created
            files.append(FileChange(path, tuple(edits), None if create else versions.get(path), create))
        return WorkspaceChange(label, tuple(files))

    # -- the moved code and what it needs ---------------------------------------------------

    def _block(self, start: int, end: int) -> str:
        lines = self.finder.lines.lines(self.moved.path)
        return "\n".join(lines[start:end]).rstrip() + "\n"

    def _needed_imports(self, start: int, end: int) -> list[str]:
        """Import lines for the module-level names the moved block uses; RefactorError when one of
        them is a definition staying behind in the source module."""
        tree = self.finder.tree(self.moved.path)
        used: set[str] = set()
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.end_point[0] < start or node.start_point[0] >= end:
                continue
            if node.type == "identifier" and self.finder._role(self.moved.path, node) == "head":
                used.add(node.text.decode())
            stack.extend(node.children)
        used.discard(self.name)
        needed = []
        top = {d.definition.name: d for d in self.ws.index.definitions(self.moved.path) if d.definition.parent == -1}
        for name in sorted(used):
            if name in top:
                raise RefactorError(
                    f"'{self.name}' uses '{name}', which stays in {self.moved.path}; move '{name}' first or as well"
                )
            for row in self.ws.index.imports_of(self.moved.path):
                if (row.alias or (row.name or row.module.split(".")[0])) == name:
                    needed.append(self._import_line(row))
        return list(dict.fromkeys(needed))

    def _import_line(self, row) -> str:
        module = row.module
        if module.startswith("."):
            if not row.targets:
                raise RefactorError(f"cannot tell which module '{module}' in {self.moved.path} is")
            target = row.targets[0]
            module = module_name(self.ws, target)
            if row.name is not None and PurePosixPath(target).stem == row.name:  # `from . import sub`
                module = module.rsplit(".", 1)[0] if "." in module else module
        alias = f" as {row.alias}" if row.alias else ""
        if row.name is None:
            return f"import {module}{alias}"
        return f"from {module} import {row.name}{alias}"

    def _add_to_destination(self, start: int, end: int) -> None:
        block = self._block(start, end)
        imports = [line for line in self._needed_imports(start, end) if not self._destination_has(line)]
        existing = self.ws.index.source_text(self.destination)
        if existing is None:
            if (self.ws.root / self.destination).exists():
                raise RefactorError(f"{self.destination} exists but is not an indexed Python file")
            self.created = True
            text = ("\n".join(imports) + "\n\n\n" if imports else "") + block
            self._edit(self.destination, Range.of(0, 0, 0, 0), text)
            return
        lines = existing.split("\n")
        # the destination may import the name from the source module: it becomes local
        for row in self.ws.index.imports_of(self.destination):
            if row.name == self.name and self.moved.path in row.targets:
                if row.alias and row.alias != self.name:
                    raise RefactorError(
                        f"{self.destination} imports '{self.name}' as '{row.alias}'; rename those uses first"
                    )
                self._drop_imported_name(self.destination, row.line)
        if imports:
            line = self._import_insertion_line(self.destination)
            self._edit(self.destination, Range.of(line, 0, line, 0), "\n".join(imports) + "\n")
        last = len(lines) - 1
        tail = lines[last]
        separator = "\n\n" if existing.endswith("\n") else "\n\n\n"
        self._edit(self.destination, Range.of(last, len(tail), last, len(tail)), separator + block.rstrip("\n") + "\n")

    def _destination_has(self, import_line: str) -> bool:
        text = self.ws.index.source_text(self.destination) or ""
        return any(line.strip() == import_line for line in text.split("\n"))

    def _import_insertion_line(self, path: str) -> int:
        """After the last top-level import (or the docstring and ``__future__`` imports)."""
        tree = self.finder.tree(path)
        line = 0
        for node in tree.root_node.named_children if tree is not None else ():
            if node.type in ("import_statement", "import_from_statement", "future_import_statement"):
                line = node.end_point[0] + 1
            elif node.type == "expression_statement" and node.named_children[0].type == "string" and line == 0:
                line = node.end_point[0] + 1
            elif node.type != "comment":
                break
        return line

    # -- the source module ----------------------------------------------------------------

    def _remove_from_source(self, start: int, end: int, needs_import_back: bool) -> None:
        self._edit(self.moved.path, removal(self.finder.lines.lines(self.moved.path), start, end, 2), "")
        if needs_import_back:
            line = self._import_insertion_line(self.moved.path)
            self._edit(self.moved.path, Range.of(line, 0, line, 0), f"from {self.target_module} import {self.name}\n")

    # -- importers ----------------------------------------------------------------------------

    def _rewrite_importer(self, path: str, sites: list[Site]) -> None:
        import_lines = set()
        attribute_sites = []
        for site in sites:
            node = self.finder.node_at(path, site.line, site.start, self.name)
            role = self.finder._role(path, node) if node is not None else None
            if role == "import":
                statement = _ancestor(node, "import_from_statement")
                line = statement.start_point[0] + 1
                if any(
                    r.line == line and r.name == self.name and self.moved.path in r.targets
                    for r in self.ws.index.imports_of(path)
                ):
                    import_lines.add(line)  # through a re-exporting module, the import stays as it is
            elif role == "attribute" and self._object_is_source(path, node):
                attribute_sites.append(node)
        for line in sorted(import_lines):
            if path == self.destination:
                continue
            row = next(r for r in self.ws.index.imports_of(path) if r.line == line and r.name == self.name)
            alias = f" as {row.alias}" if row.alias else ""
            self._drop_imported_name(path, line, f"from {self.target_module} import {self.name}{alias}")
        if attribute_sites:
            for node in attribute_sites:
                attribute = node.parent
                row, col = attribute.start_point
                end_row, end_col = attribute.end_point
                line_text = self.finder.lines.line(path, row)
                start = len(line_text.encode()[:col].decode("utf-8", "ignore"))
                end = len(self.finder.lines.line(path, end_row).encode()[:end_col].decode("utf-8", "ignore"))
                local = path == self.destination
                self._edit(
                    path,
                    Range.of(row, start, end_row, end),
                    self.name if local else f"{self.target_module}.{self.name}",
                )
            if path != self.destination and not any(
                r.name is None and r.module == self.target_module and not r.alias
                for r in self.ws.index.imports_of(path)
            ):
                line = self._import_insertion_line(path)
                self._edit(path, Range.of(line, 0, line, 0), f"import {self.target_module}\n")

    def _object_is_source(self, path: str, node: Node) -> bool:
        """Whether ``obj`` in ``obj.name`` is the source module itself (not a package re-exporting it)."""
        target = node.parent.child_by_field_name("object") if node.parent is not None else None
        if target is None:
            return False
        found = self.ws.index.resolve(path, target.text.decode().replace(" ", ""))
        return any(d.ord < 0 and d.path == self.moved.path for d in found)

    def _drop_imported_name(self, path: str, line: int, replacement_statement: str | None = None) -> None:
        """Remove ``self.name`` from the from-import statement starting on 1-based ``line``; put
        ``replacement_statement`` (if any) in its place or on the line after it."""
        tree = self.finder.tree(path)
        statement = _statement_on(tree.root_node, "import_from_statement", line - 1) if tree is not None else None
        if statement is None:
            raise RefactorError(f"cannot find the import of '{self.name}' at {path}:{line}")
        names = statement.children_by_field_name("name")
        mine = [n for n in names if _imported(n) == self.name]
        row, column = statement.start_point
        end_row = statement.end_point[0]
        end_col = len(self.finder.lines.line(path, end_row))
        indent = self.finder.lines.line(path, row)[:column]
        if len(mine) == len(names):
            self._edit(
                path,
                Range.of(row, column, end_row, end_col),
                replacement_statement or "pass" if indent else replacement_statement or "",
            )
            return
        text = statement.text.decode()
        kept = [n.text.decode() for n in names if n not in mine]
        module = statement.child_by_field_name("module_name").text.decode()
        multiline = "\n" in text
        rebuilt = f"from {module} import " + (
            "(\n" + "".join(f"{indent}    {k},\n" for k in kept) + f"{indent})" if multiline else ", ".join(kept)
        )
        if replacement_statement:
            rebuilt += f"\n{indent}{replacement_statement}"
        self._edit(path, Range.of(row, column, end_row, end_col), rebuilt)

    def _edit(self, path: str, where: Range, text: str) -> None:
        self.edits.setdefault(path, []).append(TextEdit(where, text))


def _statement_on(root: Node, kind: str, row: int) -> Node | None:
    """The ``kind`` statement starting on 0-based ``row``, at any depth (imports inside functions too)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.start_point[0] > row or node.end_point[0] < row:
            continue
        if node.type == kind and node.start_point[0] == row:
            return node
        stack.extend(node.named_children)
    return None


def _imported(node: Node) -> str:
    if node.type == "aliased_import":
        node = node.child_by_field_name("name")
    return node.text.decode().rsplit(".", 1)[-1]


def _ancestor(node: Node, kind: str) -> Node:
    while node.type != kind:
        node = node.parent
    return node


def _imports_from(ws: Workspace, path: str, name: str, source: str) -> bool:
    return any(row.name == name and source in row.targets for row in ws.index.imports_of(path))


def _validate_move(
    ws: Workspace, change: WorkspaceChange, moved: StoredDefinition, destination: str, reference_count: int
) -> None:
    texts = proposed_texts(ws, change)
    check_parses(texts)
    name = moved.definition.name
    with scratch_workspace(ws, {path: after for path, (_, after) in texts.items()}) as scratch:
        placed = [
            d for d in scratch.index.definitions(destination) if d.definition.name == name and d.definition.parent == -1
        ]
        if len(placed) != 1:
            raise RefactorError(f"validation failed: {destination} would not define '{name}' exactly once")
        finder = Finder(scratch)
        found = sum(1 for s in finder.sites(placed[0]) if s.kind == "reference")
        added_back = sum(1 for f in change.files for e in f.edits if re.search(rf"\bimport {name}\b", e.new_text))
        if found < reference_count:
            raise RefactorError(
                f"validation failed: {reference_count} reference(s) to '{name}' before the move, {found} after"
                f" ({added_back} import(s) added)"
            )
