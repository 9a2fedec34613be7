"""JavaScript (and JSX): declarations, class members, ES module and CommonJS imports.

Quirks: a ``const``/``let``/``var`` binding is a function when its value is an arrow function or
function expression (anywhere, like a nested ``function``), a class when its value is a class
expression, and a variable otherwise (top level only). Function-like values are exactly the
expressions with a ``body`` field, which is how the variable pattern excludes them.
A default import is ``ImportedName("default", local)``; ``require`` bound to a name is a
whole-module import with that alias, a destructured ``require`` imports the destructured names.
Comments and ``export`` wrappers are siblings/parents of the declaration, so docs and spans are
read from the enclosing statement. The TypeScript module reuses these pieces.
"""

from __future__ import annotations

import tree_sitter_javascript
from tree_sitter import Node

from ..model import Import, ImportedName
from .base import LanguageSpec, leading_comment, node_text


def variables(*parents: str) -> str:
    """Variables whose value is not function-like, declared directly in ``parents`` (outermost
    first). Separate patterns rather than nested alternations, which tree-sitter mismatches."""
    patterns = []
    for declaration in ("lexical_declaration", "variable_declaration"):
        for value in ("!value", "value: (_ !body)"):
            pattern = f"({declaration} (variable_declarator name: (identifier) @name {value}) @definition.variable)"
            for parent in reversed(parents):
                pattern = f"({parent} {pattern})"
            patterns.append(pattern)
    return "\n".join(patterns)


# Patterns valid in both the JavaScript and TypeScript grammars.
SHARED_QUERY = f"""
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.function
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(variable_declarator name: (identifier) @name value: (class)) @definition.class
{variables("program")}
{variables("program", "export_statement")}

(import_statement) @import
(export_statement source: (_)) @import
((variable_declarator
   value: (call_expression function: (identifier) @_require arguments: (arguments . (string))))
 (#eq? @_require "require")) @import

(identifier) @reference
(property_identifier) @reference
(shorthand_property_identifier) @reference
"""

QUERY = SHARED_QUERY + """
(field_definition property: (_) @name) @definition.field
"""

_COMMENTS = frozenset({"comment"})
_WRAPPERS = frozenset({"export_statement", "ambient_declaration", "expression_statement"})


def statement(node: Node) -> Node:
    """The statement a definition is written as: with its ``export``/``declare`` and decorators."""
    if node.type == "variable_declarator" and node.parent is not None:
        node = node.parent
    while node.parent is not None and node.parent.type in _WRAPPERS:
        node = node.parent
    while node.prev_named_sibling is not None and node.prev_named_sibling.type == "decorator":
        node = node.prev_named_sibling  # TypeScript method decorators are siblings in the class body
    return node


def doc(node: Node, span: Node, source: bytes) -> str:
    return leading_comment(span, source, _COMMENTS)  # the span is the statement


def _string(node: Node, source: bytes) -> str:
    return node_text(node, source)[1:-1]


def _field_text(node: Node, name: str, source: bytes) -> str | None:
    child = node.child_by_field_name(name)
    return node_text(child, source) if child is not None else None


def _require(node: Node, source: bytes, line: int) -> list[Import]:
    arguments = node.child_by_field_name("value").child_by_field_name("arguments")
    module = _string(arguments.named_children[0], source)
    target = node.child_by_field_name("name")
    if target.type == "identifier":
        return [Import(module, line, alias=node_text(target, source))]
    names: list[ImportedName] = []
    if target.type == "object_pattern":
        for entry in target.named_children:
            if entry.type == "shorthand_property_identifier_pattern":
                names.append(ImportedName(node_text(entry, source)))
            elif entry.type == "pair_pattern":
                key = node_text(entry.child_by_field_name("key"), source)
                value = entry.child_by_field_name("value")
                alias = node_text(value, source) if value.type == "identifier" else None
                names.append(ImportedName(key, alias if alias != key else None))
    return [Import(module, line, names=tuple(names))]


def _specifiers(clause: Node, source: bytes) -> list[ImportedName]:
    """``{a as b, c}`` of an import or export clause."""
    names = []
    for specifier in clause.named_children:
        if specifier.type in ("import_specifier", "export_specifier"):
            name = _field_text(specifier, "name", source) or ""
            names.append(ImportedName(name, _field_text(specifier, "alias", source)))
    return names


def imports(node: Node, source: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type == "variable_declarator":
        return _require(node, source, line)
    names: list[ImportedName] = []
    alias = None
    if node.type == "export_statement":
        for child in node.children:
            if child.type == "*":
                names.append(ImportedName("*"))
            elif child.type == "namespace_export":
                alias = node_text(child.named_children[-1], source)
            elif child.type == "export_clause":
                names.extend(_specifiers(child, source))
        module = _string(node.child_by_field_name("source"), source)
        return [Import(module, line, names=tuple(names), alias=alias, reexport=True)]
    for clause in node.named_children:
        if clause.type == "import_require_clause":  # TypeScript ``import x = require("m")``
            module = _string(clause.child_by_field_name("source"), source)
            return [Import(module, line, alias=node_text(clause.named_children[0], source))]
        if clause.type != "import_clause":
            continue
        for part in clause.named_children:
            if part.type == "identifier":
                names.append(ImportedName("default", node_text(part, source)))
            elif part.type == "namespace_import":
                alias = node_text(part.named_children[-1], source)
            elif part.type == "named_imports":
                names.extend(_specifiers(part, source))
    source_node = node.child_by_field_name("source")
    if source_node is None:
        return []
    return [Import(_string(source_node, source), line, names=tuple(names), alias=alias)]


SPECS = (
    LanguageSpec(
        name="javascript",
        extensions=(".js", ".jsx", ".mjs", ".cjs"),
        grammar=tree_sitter_javascript.language,
        query=QUERY,
        imports=imports,
        doc=doc,
        doc_from_comment_above=True,
        span=statement,
        container_kinds=frozenset({"class"}),
    ),
)
