"""Rust: items, impl blocks, ``use`` trees, ``mod x;`` declarations and ``extern crate``.

Quirks: an ``impl`` block is a definition (kind ``impl``) named after the implementing type, so
its functions become methods ``Type.method``; trait functions become methods of the trait.
Unions are kind ``struct``. Attributes (``#[derive]``) are siblings before an item, so the span
hook extends items over them; docs are the ``///`` and ``/** */`` comments among them.
``use`` trees are flattened to one Import per module path: ``use a::b::{c, d as e}`` is
``Import("a::b", names=(c, d as e))``, ``use std::io::{self}`` imports ``io`` from ``std``,
and a single-segment path (``use serde;``) is a whole-module import. ``pub use`` is a
re-export. A bodiless ``mod x;`` is ``Import("mod::x")`` so resolvers can tell it apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import tree_sitter_rust
from tree_sitter import Node

from ..model import Import, ImportedName
from .base import LanguageSpec, node_text

QUERY = """
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(union_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.trait
(impl_item type: (type_identifier) @name) @definition.impl
(impl_item type: (scoped_type_identifier name: (type_identifier) @name)) @definition.impl
(impl_item type: (generic_type type: (type_identifier) @name)) @definition.impl
(impl_item type: (generic_type type: (scoped_type_identifier name: (type_identifier) @name))) @definition.impl
(mod_item name: (identifier) @name body: (_)) @definition.module
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(type_item name: (type_identifier) @name) @definition.type
(macro_definition name: (identifier) @name) @definition.macro
(field_declaration name: (field_identifier) @name) @definition.field

(use_declaration) @import
(extern_crate_declaration) @import
(mod_item !body) @import

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
"""

_ATTACHED = frozenset({"attribute_item", "line_comment", "block_comment"})


def _attached(node: Node) -> Iterator[Node]:
    """Attributes and comments directly above ``node``, nearest first, with no blank line."""
    expected_row = node.start_point.row
    sibling = node.prev_sibling
    while sibling is not None and sibling.type in _ATTACHED:
        end_row, end_column = sibling.end_point
        if end_column == 0 and end_row > sibling.start_point.row:
            end_row -= 1  # a line comment ends at the start of the next line
        if end_row < expected_row - 1:
            return
        yield sibling
        expected_row = sibling.start_point.row
        sibling = sibling.prev_sibling


def _span(node: Node) -> Node:
    """An item starts at its first attribute."""
    first = node
    for sibling in _attached(node):
        if sibling.type == "attribute_item":
            first = sibling
    return first


def _doc(node: Node, span: Node, source: bytes) -> str:
    """Outer doc comments (``///``, ``/** */``) above the item, skipping attributes."""
    lines: list[str] = []
    for sibling in _attached(node):
        text = sibling.child_by_field_name("doc")
        if sibling.child_by_field_name("outer") is None or text is None:
            continue
        cleaned = [line.strip() for line in node_text(text, source).splitlines() or [""]]
        lines[:0] = [line[1:].strip() if line.startswith("*") else line for line in cleaned]
    return "\n".join(lines).strip()


def _path(node: Node, source: bytes) -> str:
    return "".join(node_text(node, source).split())


def _join(prefix: str, path: str) -> str:
    return f"{prefix}::{path}" if prefix else path


def _use_entries(node: Node, prefix: str, source: bytes) -> Iterator[tuple[str, str | None, str | None]]:
    """``(module, name, alias)`` for each leaf of a use tree; ``name`` None for a whole module."""
    alias = None
    if node.type == "use_as_clause":
        alias = node_text(node.child_by_field_name("alias"), source)
        node = node.child_by_field_name("path")
    if node.type == "use_list":
        for child in node.named_children:
            yield from _use_entries(child, prefix, source)
    elif node.type == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = _join(prefix, _path(path, source)) if path is not None else prefix
        yield from _use_entries(node.child_by_field_name("list"), inner, source)
    elif node.type == "use_wildcard":
        path = node.named_children[0] if node.named_child_count else None
        yield (_join(prefix, _path(path, source)) if path is not None else prefix), "*", None
    else:  # a path: identifier, scoped_identifier, self, super, crate
        full = prefix if node.type == "self" else _join(prefix, _path(node, source))
        module, _, name = full.rpartition("::")
        if module:
            yield module, name, alias
        else:
            yield full, None, alias


def _use(node: Node, source: bytes, line: int) -> list[Import]:
    argument = node.child_by_field_name("argument")
    reexport = any(child.type == "visibility_modifier" for child in node.children)
    found: list[Import] = []
    by_module: dict[str, int] = {}  # index in ``found`` of the Import naming a module's items
    for module, name, alias in _use_entries(argument, "", source):
        if name is None:
            found.append(Import(module, line, alias=alias, reexport=reexport))
        elif module in by_module:
            earlier = found[by_module[module]]
            found[by_module[module]] = replace(earlier, names=(*earlier.names, ImportedName(name, alias)))
        else:
            by_module[module] = len(found)
            found.append(Import(module, line, names=(ImportedName(name, alias),), reexport=reexport))
    return found


def _imports(node: Node, source: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type == "use_declaration":
        return _use(node, source, line)
    name = node_text(node.child_by_field_name("name"), source)
    if node.type == "mod_item":
        return [Import(f"mod::{name}", line)]
    alias = node.child_by_field_name("alias")
    return [Import(name, line, alias=node_text(alias, source) if alias is not None else None)]


SPECS = (
    LanguageSpec(
        name="rust",
        extensions=(".rs",),
        grammar=tree_sitter_rust.language,
        query=QUERY,
        imports=_imports,
        doc=_doc,
        span=_span,
        container_kinds=frozenset({"impl", "trait"}),
    ),
)
