"""What a language module declares: grammar, file extensions, one tree-sitter query, and hooks.

The query follows one convention so that extraction stays generic (see ``indexer/extract.py``):

- ``@definition.KIND`` on the node spanning a definition, with exactly one ``@name`` capture on
  its name in the same pattern (KIND: function, class, method, variable, constant, interface,
  type, enum, struct, trait, module, macro, field...);
- ``@import`` on a whole import statement; the language's ``imports`` hook reads it;
- ``@reference`` on identifier occurrences.

Adding a language means adding one module in this package that defines ``SPEC``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Node

from ..model import Import

ImportReader = Callable[[Node, bytes], list[Import]]
SpanHook = Callable[[Node], Node]
DocHook = Callable[[Node, Node, bytes], str]  # (definition node, its span, source): the span is
# computed once per definition by the extractor, as finding it may walk to the parent
ExportsHook = Callable[[Node, bytes], "tuple[str, ...] | None"]


def node_text(node: Node, source: bytes) -> str:
    """The node's source text, decoded leniently."""
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def leading_comment(node: Node, source: bytes, comment_types: frozenset[str]) -> str:
    """Comment lines directly above ``node`` (no blank line between), as plain text."""
    if not _comment_line_above(node, source):
        return ""  # the common case, decided from the bytes without walking siblings
    lines: list[str] = []
    expected_end_row = node.start_point.row
    sibling = node.prev_sibling
    while sibling is None and node.parent is not None and node.parent.start_byte == node.start_byte:
        node = node.parent  # the first statement of a block: a comment above it sits before the block
        sibling = node.prev_sibling
    while sibling is not None and sibling.type in comment_types:
        if sibling.end_point.row < expected_end_row - 1:
            break
        lines.insert(0, node_text(sibling, source))
        expected_end_row = sibling.start_point.row
        sibling = sibling.prev_sibling
    return "\n".join(_strip_comment_markers(line) for line in lines).strip()


_COMMENT_LINE_STARTS = (b"#", b"//", b"/*", b"*", b"--")


def _comment_line_above(node: Node, source: bytes) -> bool:
    line_start = source.rfind(b"\n", 0, node.start_byte)
    if line_start <= 0:
        return False
    previous = source[source.rfind(b"\n", 0, line_start) + 1 : line_start].strip()
    return previous.startswith(_COMMENT_LINE_STARTS) or previous.endswith(b"*/")


def _strip_comment_markers(text: str) -> str:
    cleaned = []
    for raw in text.splitlines():
        line = raw.strip()
        for marker in ("///", "//!", "//", "/**", "/*", "*/", "#"):
            if line.startswith(marker):
                line = line[len(marker) :]
                break
        if line.endswith("*/"):
            line = line[:-2]
        line = line.strip()
        if line.startswith("* ") or line == "*":
            line = line[1:].strip()
        cleaned.append(line)
    return "\n".join(cleaned).strip()


def identity(node: Node) -> Node:
    return node


def no_doc(node: Node, span: Node, source: bytes) -> str:
    return ""


def no_imports(node: Node, source: bytes) -> list[Import]:
    return []


def no_exports(root: Node, source: bytes) -> tuple[str, ...] | None:
    return None


@dataclass(frozen=True)
class LanguageSpec:
    """Everything the indexer needs to know about one language."""

    name: str
    extensions: tuple[str, ...]
    grammar: Callable[[], object]
    query: str
    imports: ImportReader = no_imports
    doc: DocHook = no_doc
    # Where ``doc`` finds text, when it looks nowhere else; the compiled definition pass then calls
    # it only where there is some: a comment line right above the span or the definition (the
    # test ``leading_comment`` starts with), and a docstring, the first named child of the body
    # (``body_field``) of the first type with a first named child of the second.
    doc_from_comment_above: bool = False
    docstring: tuple[str, str] | None = None
    span: SpanHook = identity
    exports: ExportsHook = no_exports
    body_field: str = "body"
    container_kinds: frozenset[str] = field(
        default=frozenset({"class", "interface", "struct", "trait", "impl", "enum", "namespace"})
    )
    ignored_references: frozenset[str] = frozenset()
    # Top-level statements parse the same on their own as in their file (no lexer state crosses
    # them, unlike JavaScript's semicolon insertion), so an edit re-parses only those it touches.
    isolated_statements: bool = False
    # Text that can change the ``exports`` hook's answer; an edit showing it re-reads the whole file,
    # and a file without it has no exports list (None) without asking the hook.
    exports_marker: bytes | None = None
