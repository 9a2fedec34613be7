"""Java: types, methods, constructors, fields, and single/on-demand/static imports.

Quirks: records are kind ``class`` and annotation types kind ``interface``; constructors
(compact ones too) and annotation elements are methods. A field declaration with one
variable is defined by the whole declaration (its signature keeps the type); with several
(``int a, b;``) each variable is its own definition so none nests in another. Docs are the
Javadoc (``/** */``) comment directly above; annotations are part of the declaration node.
"""

from __future__ import annotations

import tree_sitter_java
from tree_sitter import Node

from ..model import Import, ImportedName
from .base import LanguageSpec, node_text


def _fields(node: str) -> str:
    declarator = "(variable_declarator name: (identifier) @name)"
    return f"""
({node} type: (_) . {declarator} .) @definition.field
({node} type: (_) . {declarator} @definition.field . (variable_declarator))
({node} (variable_declarator) . {declarator} @definition.field)"""


QUERY = f"""
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(annotation_type_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(method_declaration name: (identifier) @name) @definition.function
(constructor_declaration name: (identifier) @name) @definition.function
(compact_constructor_declaration name: (identifier) @name) @definition.function
(annotation_type_element_declaration name: (identifier) @name) @definition.function
{_fields("field_declaration")}
{_fields("constant_declaration")}

(import_declaration) @import

(identifier) @reference
(type_identifier) @reference
"""


def _owner(node: Node) -> Node:
    """The field declaration a variable of a multi-variable declaration belongs to."""
    if node.type == "variable_declarator" and node.parent is not None:
        return node.parent
    return node


def _doc(node: Node, span: Node, source: bytes) -> str:
    node = span  # the owner
    comment = node.prev_sibling
    if comment is None or comment.type != "block_comment":
        return ""
    text = node_text(comment, source)
    if not text.startswith("/**") or comment.end_point.row < node.start_point.row - 1:
        return ""
    lines = []
    for raw in text.removeprefix("/**").removesuffix("*/").splitlines():
        line = raw.strip()
        lines.append(line[1:].strip() if line.startswith("*") else line)
    return "\n".join(lines).strip()


_PATHS = ("scoped_identifier", "identifier")


def _imports(node: Node, source: bytes) -> list[Import]:
    line = node.start_point.row + 1
    is_static = any(child.type == "static" for child in node.children)
    path_node = next((c for c in node.named_children if c.type in _PATHS), None)
    if path_node is None:
        return []
    path = node_text(path_node, source)
    if any(child.type == "asterisk" for child in node.named_children):
        return [Import(path, line, names=(ImportedName("*"),))]
    if is_static and path_node.type == "scoped_identifier":
        scope = node_text(path_node.child_by_field_name("scope"), source)
        member = node_text(path_node.child_by_field_name("name"), source)
        return [Import(scope, line, names=(ImportedName(member),))]
    return [Import(path, line)]


SPECS = (
    LanguageSpec(
        name="java",
        extensions=(".java",),
        grammar=tree_sitter_java.language,
        query=QUERY,
        imports=_imports,
        doc=_doc,
        span=_owner,
        container_kinds=frozenset({"class", "interface", "enum"}),
    ),
)
