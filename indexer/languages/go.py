"""Go: functions, methods, type declarations, struct fields, top-level const/var, imports.

Quirks: a method's qualified name is its bare name (the extractor nests by syntax, and Go
methods sit outside their type); the receiver is visible in the signature
(``func (s *Server) Start() error``). Type specs are ``struct``, ``interface`` or ``type`` by
their underlying type. A spec or field declaring one name is defined by the whole spec; when it
declares several (``var a, b int``), each name is its own definition node, so definitions
never nest in one another. Docs are the ``//`` comments above, without directives
(``//go:embed``). Each ``import_spec`` is one Import; ``.`` and ``_`` aliases are kept.
"""

from __future__ import annotations

import re

import tree_sitter_go
from tree_sitter import Node

from ..model import Import
from .base import LanguageSpec, node_text

# Every underlying type of a type spec except struct and interface (the grammar's ``_type``).
_OTHER_TYPES = """[
  (type_identifier) (generic_type) (qualified_type) (pointer_type) (array_type) (slice_type)
  (map_type) (channel_type) (function_type) (negated_type) (parenthesized_type)
]"""


def _names(node: str, name: str, kind: str, parents: tuple[str, ...] = ()) -> str:
    """Gives each name of ``node`` one definition: the whole node if it declares a single name.

    Separate patterns, not one alternation: tree-sitter mismatches anchors inside alternations.
    Names are matched without their field: the grammar loses ``name:`` after the first one.
    """
    patterns = (
        f"({node} . ({name}) @name . [type: (_) value: (_) tag: (_)]) @definition.{kind}",
        f"({node} . ({name}) @name .) @definition.{kind}",
        f"({node} . ({name}) @name @definition.{kind} . ({name}))",
        f"({node} ({name}) . ({name}) @name @definition.{kind})",
    )
    opening = "".join(f"({parent} " for parent in parents)
    return "\n".join(opening + pattern + ")" * len(parents) for pattern in patterns)


QUERY = f"""
(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name type: {_OTHER_TYPES}) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(method_elem name: (field_identifier) @name) @definition.function
{_names("field_declaration", "field_identifier", "field")}
{_names("const_spec", "identifier", "constant", ("source_file", "const_declaration"))}
{_names("var_spec", "identifier", "variable", ("source_file", "var_declaration"))}
{_names("var_spec", "identifier", "variable", ("source_file", "var_declaration", "var_spec_list"))}

(import_spec) @import

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
(package_identifier) @reference
"""

_DIRECTIVE = re.compile(r"//(line |extern |export |[a-z0-9]+:[a-z0-9])")
_DECLARATIONS = frozenset({"type_declaration", "const_declaration", "var_declaration"})


def _owner(node: Node) -> Node:
    """The spec or field a lone name definition belongs to (``b`` in ``var a, b int``)."""
    if node.type in ("identifier", "field_identifier") and node.parent is not None:
        return node.parent
    return node


def _comments_above(node: Node, source: bytes) -> str:
    """``//`` comments directly above ``node``, leaving out directives such as ``//go:embed``."""
    lines: list[str] = []
    expected_row = node.start_point.row
    sibling = node.prev_sibling
    while sibling is not None and sibling.type == "comment" and sibling.end_point.row >= expected_row - 1:
        text = node_text(sibling, source)
        if not _DIRECTIVE.match(text):
            lines.insert(0, text)
        expected_row = sibling.start_point.row
        sibling = sibling.prev_sibling
    return "\n".join(line.removeprefix("//").removeprefix("/*").removesuffix("*/").strip() for line in lines).strip()


def _doc(node: Node, span: Node, source: bytes) -> str:
    """Comments above the definition, or above its declaration when that declares only it."""
    node = span  # the owner
    text = _comments_above(node, source)
    parent = node.parent
    if parent is not None and parent.type == "var_spec_list":
        parent = parent.parent
    if not text and parent is not None and parent.type in _DECLARATIONS:
        if len([c for c in parent.named_children if c.type != "comment"]) == 1:
            text = _comments_above(parent, source)
    return text


def _imports(node: Node, source: bytes) -> list[Import]:
    path = node_text(node.child_by_field_name("path"), source)[1:-1]
    name = node.child_by_field_name("name")
    alias = node_text(name, source) if name is not None else None
    return [Import(path, node.start_point.row + 1, alias=alias)]


SPECS = (
    LanguageSpec(
        name="go",
        extensions=(".go",),
        grammar=tree_sitter_go.language,
        query=QUERY,
        imports=_imports,
        doc=_doc,
        span=_owner,
        container_kinds=frozenset({"interface"}),
        ignored_references=frozenset({"_"}),
    ),
)
