"""Generic extraction: one tree-sitter query pass yields definitions, references and imports.

Each language only supplies a query following the capture convention of
``languages/base.py`` plus small hooks. A single ``QueryCursor.captures`` pass is used because
the tree walk dominates the cost; definitions are paired with their ``@name`` captures by
document order (a definition's name always precedes any definition nested inside it). Where the
compiled scanner is built (``native/``), it takes over the references and narrows the query's
walk; both paths give the same results.
"""

from __future__ import annotations

from functools import cached_property

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from .languages import LanguageSpec
from .languages.base import identity, no_doc
from .model import Definition, ParsedFile
from .native import Scanner, scanner_for
from .store import pack_references

MAX_SIGNATURE_CHARS = 400
MAX_DOC_CHARS = 2000


class Extractor:
    """A parser plus the compiled query for one language. Build once per process and reuse."""

    def __init__(self, spec: LanguageSpec) -> None:
        self.spec = spec
        self.language = Language(spec.grammar())
        self.parser = Parser(self.language)
        self._scanner = scanner_for(self.language, spec.query, spec.ignored_references)
        self._definition_captures = [
            name
            for name in _capture_names(self.query if self._scanner is None else self._scanner.query)
            if name.startswith("definition.")
        ]
        # What the compiled definition pass takes besides the captures (hooks that do nothing: None).
        self._definition_rules = (
            self.language.field_id_for_name(spec.body_field) or 0,
            spec.container_kinds,
            None if spec.span is identity else spec.span,
            None if spec.doc is no_doc else spec.doc,
            spec.doc_from_comment_above,
            spec.docstring or (None, None),
            Definition,
            MAX_SIGNATURE_CHARS,
            MAX_DOC_CHARS,
        )

    @cached_property
    def query(self) -> Query:
        """The whole language query, for the pure-Python path (compiled when first needed: a
        process with the compiled scanner may never take that path)."""
        return Query(self.language, self.spec.query)

    def parse(self, source: bytes, old_tree: Tree | None = None) -> Tree:
        if old_tree is None:
            return self.parser.parse(source)
        return self.parser.parse(source, old_tree)

    def extract(self, tree: Tree, source: bytes, byte_range: tuple[int, int] | None = None) -> ParsedFile:
        """Everything in the file, or only what lies in ``byte_range`` (whole top-level statements)."""
        parsed, references = self._extract(tree, source, byte_range, packed=False)
        parsed.references = references
        return parsed

    def extract_packed(self, tree: Tree, source: bytes) -> tuple[ParsedFile, dict[str, bytes]]:
        """The whole file's extraction for the store: references packed (``pack_references``) apart
        from ``parsed``, whose own ``references`` stay empty."""
        return self._extract(tree, source, None, packed=True)

    def _extract(
        self, tree: Tree, source: bytes, byte_range: tuple[int, int] | None, packed: bool
    ) -> tuple[ParsedFile, dict]:
        root = tree.root_node
        compiled = self._scanner if self._scanner is not None and self._scanner.fits(tree) else None
        if compiled is not None and byte_range is None:
            scanned = compiled.scan(tree, source)
            captures = scanned.captures
        else:
            scanned = None
            captures = self._captures(root, byte_range)
        definitions, name_starts = self._definitions(captures, source, compiled)
        parsed = ParsedFile(
            language=self.spec.name,
            line_count=source.count(b"\n") + (0 if source.endswith(b"\n") else 1),
            definitions=definitions,
            error_count=int(root.has_error),
        )
        if scanned is not None:
            references = compiled.references(scanned, name_starts, packed)
        else:
            references = self._references(captures.get("reference", ()), name_starts, source)
            if packed:
                references = pack_references(references)
        for statement in sorted(captures.get("import", ()), key=_start_byte):
            parsed.imports.extend(self.spec.imports(statement, source))
        marker = self.spec.exports_marker
        parsed.exports = None if marker is not None and marker not in source else self.spec.exports(root, source)
        return parsed, references

    def _captures(self, root: Node, byte_range: tuple[int, int] | None) -> dict[str, list[Node]]:
        cursor = QueryCursor(self.query)
        if byte_range is None:
            return cursor.captures(root)
        cursor.set_byte_range(*byte_range)  # matches may still reach past the range: trim them
        low, high = byte_range
        return {
            name: [n for n in nodes if n.start_byte >= low and n.end_byte <= high]
            for name, nodes in cursor.captures(root).items()
        }

    def _definitions(
        self, captures: dict[str, list[Node]], source: bytes, compiled: Scanner | None
    ) -> tuple[list[Definition], set[int]]:
        if compiled is not None:  # the same pass in C (tests/indexer/test_native.py holds the two equal)
            groups = [
                (capture.removeprefix("definition."), captures.get(capture, []))
                for capture in self._definition_captures
            ]
            return compiled.definitions(source, groups, captures.get("name", []), self._definition_rules)
        # Runs once per definition: every node property is read once (each read crosses into C).
        keyed: list[tuple[int, int, int, Node, str]] = []  # (start, -end, capture order, node, kind)
        for capture in self._definition_captures:
            kind = capture.removeprefix("definition.")
            for node in captures.get(capture, ()):
                keyed.append((node.start_byte, -node.end_byte, len(keyed), node, kind))
        keyed.sort()
        names = sorted(captures.get("name", ()), key=_start_byte)

        spec = self.spec
        span_of, doc_of, containers = spec.span, spec.doc, spec.container_kinds
        definitions: list[Definition] = []
        ends: list[int] = []  # end byte of each definition, for the enclosing-definition stack
        open_stack: list[int] = []
        name_starts: set[int] = set()
        # ``keyed`` and ``names`` have equal lengths unless a query pattern errs
        for (start, negative_end, _, node, kind), name_node in zip(keyed, names, strict=False):
            end = -negative_end
            name_start, name_end = name_node.start_byte, name_node.end_byte
            if not (start <= name_start and name_end <= end):
                continue  # a query pattern broke the pairing convention; skip rather than mislabel
            while open_stack and ends[open_stack[-1]] <= start:
                open_stack.pop()
            parent = open_stack[-1] if open_stack else -1
            name = source[name_start:name_end].decode("utf-8", "replace")
            if parent >= 0:
                parent_def = definitions[parent]
                qualified = f"{parent_def.qualified_name}.{name}"
                if kind == "function" and parent_def.kind in containers:
                    kind = "method"
            else:
                qualified = name
            span = span_of(node)
            start_row = node.start_point.row
            start_line = span.start_point.row + 1 if span is not node else start_row + 1
            end_row, end_column = node.end_point
            if end_column == 0 and end_row > start_row:
                end_row -= 1  # it ends at the start of a line: that line is not part of it
            name_row, name_col = name_node.start_point
            definitions.append(
                Definition(
                    name,
                    qualified,
                    kind,
                    start_line,
                    end_row + 1,
                    name_row + 1,
                    name_col,
                    self._signature(node, start, end, source),
                    doc_of(node, span, source)[:MAX_DOC_CHARS],
                    parent,
                )
            )
            ends.append(end)
            open_stack.append(len(definitions) - 1)
            name_starts.add(name_start)
        return definitions, name_starts

    def _signature(self, node: Node, start: int, end: int, source: bytes) -> str:
        body = node.child_by_field_name(self.spec.body_field)
        body_start = body.start_byte if body is not None else start
        if body_start > start:
            text = source[start:body_start]
        else:
            line_end = source.find(b"\n", start, end)
            text = source[start : line_end if line_end >= 0 else end]
        signature = " ".join(text.decode("utf-8", "replace").split())
        return signature.rstrip(" {:")[:MAX_SIGNATURE_CHARS]

    def _references(self, nodes: list[Node], name_starts: set[int], source: bytes) -> dict[str, list[int]]:
        """Identifier occurrences grouped by name, as flat ``(line, col)`` pairs in document order.

        The enclosing definition is not computed here: the store derives it from definition spans
        when asked, which keeps this per-identifier loop (the hottest in indexing) minimal.
        """
        ignored = self.spec.ignored_references
        references: dict[str, list[int]] = {}
        decoded: dict[bytes, str] = {}
        for node in sorted(nodes, key=_start_byte):  # captures come as a set: fix their order
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


def _capture_names(query: Query) -> list[str]:
    return [query.capture_name(index) for index in range(query.capture_count)]
