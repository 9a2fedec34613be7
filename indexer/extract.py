"""Generic extraction: one tree-sitter query pass yields definitions, references and imports.

Each language only supplies a query following the capture convention of
``languages/base.py`` plus small hooks. A single ``QueryCursor.captures`` pass is used because
the tree walk dominates the cost; definitions are paired with their ``@name`` captures by
document order (a definition's name always precedes any definition nested inside it).
"""

from __future__ import annotations

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from .languages import LanguageSpec
from .model import Definition, ParsedFile

MAX_SIGNATURE_CHARS = 400
MAX_DOC_CHARS = 2000


class Extractor:
    """A parser plus the compiled query for one language. Build once per process and reuse."""

    def __init__(self, spec: LanguageSpec) -> None:
        self.spec = spec
        self.language = Language(spec.grammar())
        self.parser = Parser(self.language)
        self.query = Query(self.language, spec.query)
        self._definition_captures = [
            name for name in _capture_names(self.query) if name.startswith("definition.")
        ]

    def parse(self, source: bytes, old_tree: Tree | None = None) -> Tree:
        if old_tree is None:
            return self.parser.parse(source)
        return self.parser.parse(source, old_tree)

    def extract(self, tree: Tree, source: bytes, byte_range: tuple[int, int] | None = None) -> ParsedFile:
        """Everything in the file, or only what lies in ``byte_range`` (whole top-level statements)."""
        root = tree.root_node
        cursor = QueryCursor(self.query)
        if byte_range is None:
            captures = cursor.captures(root)
        else:
            cursor.set_byte_range(*byte_range)  # matches may still reach past the range: trim them
            low, high = byte_range
            captures = {
                name: [n for n in nodes if n.start_byte >= low and n.end_byte <= high]
                for name, nodes in cursor.captures(root).items()
            }
        definitions, name_starts = self._definitions(captures, source)
        parsed = ParsedFile(
            language=self.spec.name,
            line_count=source.count(b"\n") + (0 if source.endswith(b"\n") else 1),
            definitions=definitions,
            error_count=int(root.has_error),
        )
        parsed.references = self._references(captures.get("reference", ()), name_starts, source)
        for statement in sorted(captures.get("import", ()), key=_start_byte):
            parsed.imports.extend(self.spec.imports(statement, source))
        parsed.exports = self.spec.exports(root, source)
        return parsed

    def _definitions(self, captures: dict[str, list[Node]], source: bytes) -> tuple[list[Definition], set[int]]:
        nodes: list[tuple[Node, str]] = []
        for capture in self._definition_captures:
            kind = capture.removeprefix("definition.")
            nodes.extend((node, kind) for node in captures.get(capture, ()))
        nodes.sort(key=lambda item: (item[0].start_byte, -item[0].end_byte))
        names = sorted(captures.get("name", ()), key=_start_byte)

        definitions: list[Definition] = []
        ends: list[int] = []  # end byte of each definition, for the enclosing-definition stack
        open_stack: list[int] = []
        name_starts: set[int] = set()
        for (node, kind), name_node in zip(nodes, names, strict=False):  # equal unless a query errs
            if not (node.start_byte <= name_node.start_byte and name_node.end_byte <= node.end_byte):
                continue  # a query pattern broke the pairing convention; skip rather than mislabel
            while open_stack and ends[open_stack[-1]] <= node.start_byte:
                open_stack.pop()
            parent = open_stack[-1] if open_stack else -1
            name = source[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace")
            if parent >= 0:
                parent_def = definitions[parent]
                qualified = f"{parent_def.qualified_name}.{name}"
                if kind == "function" and parent_def.kind in self.spec.container_kinds:
                    kind = "method"
            else:
                qualified = name
            span = self.spec.span(node)
            definitions.append(
                Definition(
                    name=name,
                    qualified_name=qualified,
                    kind=kind,
                    start_line=span.start_point.row + 1,
                    end_line=_end_line(node),
                    name_line=name_node.start_point.row + 1,
                    name_col=name_node.start_point.column,
                    signature=self._signature(node, source),
                    doc=self.spec.doc(node, source)[:MAX_DOC_CHARS],
                    parent=parent,
                )
            )
            ends.append(node.end_byte)
            open_stack.append(len(definitions) - 1)
            name_starts.add(name_node.start_byte)
        return definitions, name_starts

    def _signature(self, node: Node, source: bytes) -> str:
        body = node.child_by_field_name(self.spec.body_field)
        if body is not None and body.start_byte > node.start_byte:
            text = source[node.start_byte : body.start_byte]
        else:
            end = source.find(b"\n", node.start_byte, node.end_byte)
            text = source[node.start_byte : end if end >= 0 else node.end_byte]
        signature = " ".join(text.decode("utf-8", "replace").split())
        return signature.rstrip(" {:")[:MAX_SIGNATURE_CHARS]

    def _references(self, nodes: list[Node], name_starts: set[int], source: bytes) -> dict[str, list[int]]:
        """Identifier occurrences grouped by name, as flat ``(line, col)`` pairs in capture order.

        The enclosing definition is not computed here: the store derives it from definition spans
        when asked, which keeps this per-identifier loop (the hottest in indexing) minimal.
        """
        ignored = self.spec.ignored_references
        references: dict[str, list[int]] = {}
        decoded: dict[bytes, str] = {}
        for node in nodes:
            start = node.start_byte
            if start in name_starts:
                continue
            raw = source[start : node.end_byte]
            name = decoded.get(raw)
            if name is None:
                name = decoded[raw] = raw.decode("utf-8", "replace")
                if name in ignored:
                    continue
            elif name in ignored:
                continue
            row, column = node.start_point
            entry = references.get(name)
            if entry is None:
                entry = references[name] = []
            entry += (row + 1, column)
        return references


def _start_byte(node: Node) -> int:
    return node.start_byte


def _end_line(node: Node) -> int:
    row, column = node.end_point
    if column == 0 and row > node.start_point.row:
        return row  # the node ends at the start of the next line
    return row + 1


def _capture_names(query: Query) -> list[str]:
    return [query.capture_name(index) for index in range(query.capture_count)]
