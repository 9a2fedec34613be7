"""Python: definitions, docstrings, ``__all__``, and every import form."""

from __future__ import annotations

import ast

import tree_sitter_python
from tree_sitter import Node

from ..model import Import, ImportedName
from .base import LanguageSpec, leading_comment, node_text

QUERY = r"""
(function_definition name: (identifier) @name) @definition.function
(class_definition name: (identifier) @name) @definition.class
(module (expression_statement (assignment left: (identifier) @name) @definition.variable))
(class_definition body: (block (expression_statement (assignment left: (identifier) @name) @definition.field)))
(import_statement) @import
(import_from_statement) @import
(identifier) @reference
"""

_COMMENTS = frozenset({"comment"})


def _span(node: Node) -> Node:
    """Decorators belong to the definition they decorate."""
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        return parent
    return node


def _doc(node: Node, span: Node, source: bytes) -> str:
    body = node.child_by_field_name("body")
    if body is not None and body.named_child_count:
        first = body.named_child(0)
        if first.type == "expression_statement" and first.named_child_count == 1:
            literal = first.named_child(0)
            if literal.type == "string":
                return _string_value(literal, source)
    if node.type == "assignment":  # the comment sits above its statement (never decorated)
        return leading_comment(node.parent or node, source, _COMMENTS)
    return leading_comment(span, source, _COMMENTS)


def _string_value(node: Node, source: bytes) -> str:
    """A string literal's value; escapes are only interpreted when there are any (rare in docs)."""
    text = node_text(node, source)
    body = text.lstrip("rbuRBUfF")
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    if "\\" not in body and quote and body.endswith(quote) and len(body) >= 2 * len(quote):
        return body[len(quote) : -len(quote)].strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = body.strip("'\"")
    return value.strip() if isinstance(value, str) else ""


def _dotted(node: Node, source: bytes) -> str:
    return node_text(node, source).replace(" ", "")


def _imports(node: Node, source: bytes) -> list[Import]:
    line = node.start_point.row + 1
    if node.type == "import_statement":
        found = []
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                name, alias = child.child_by_field_name("name"), child.child_by_field_name("alias")
                found.append(Import(_dotted(name, source), line, alias=node_text(alias, source)))
            else:
                found.append(Import(_dotted(child, source), line))
        return found
    module_node = node.child_by_field_name("module_name")
    if module_node is None:
        return []
    module = _dotted(module_node, source)
    names: list[ImportedName] = []
    for child in node.named_children:
        if child.type == "wildcard_import":
            names.append(ImportedName("*"))
    for child in node.children_by_field_name("name"):
        if child.type == "aliased_import":
            name, alias = child.child_by_field_name("name"), child.child_by_field_name("alias")
            names.append(ImportedName(_dotted(name, source), node_text(alias, source)))
        else:
            names.append(ImportedName(_dotted(child, source)))
    return [Import(module, line, names=tuple(names))]


def _exports(root: Node, source: bytes) -> tuple[str, ...] | None:
    """Names listed in a module-level ``__all__`` (assigned or augmented), else None."""
    exported: list[str] | None = None
    for statement in root.named_children:
        if statement.type != "expression_statement" or not statement.named_child_count:
            continue
        expr = statement.named_children[0]
        if expr.type not in ("assignment", "augmented_assignment"):
            continue
        left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
        if left is None or right is None or node_text(left, source) != "__all__":
            continue
        if right.type not in ("list", "tuple"):
            continue
        if expr.type == "assignment" or exported is None:
            exported = []
        for element in right.named_children:
            if element.type == "string":
                value = _string_value(element, source)
                if value.isidentifier():
                    exported.append(value)
    return tuple(exported) if exported is not None else None


SPECS = (LanguageSpec(
    name="python",
    extensions=(".py", ".pyi"),
    grammar=tree_sitter_python.language,
    query=QUERY,
    imports=_imports,
    doc=_doc,
    doc_from_comment_above=True,
    docstring=("expression_statement", "string"),
    span=_span,
    exports=_exports,
    container_kinds=frozenset({"class"}),
    ignored_references=frozenset({"self"}),
    isolated_statements=True,
    exports_marker=b"__all__",
),)
