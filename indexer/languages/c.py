"""C: functions, named structs/unions/enums, typedefs, macros and ``#include``.

Quirks: a function's name sits inside its declarator (``char **f(void)`` nests the
``function_declarator`` in pointer declarators), so the pattern lists each wrapping depth.
Prototypes (declarations without a body) and global variables are not definitions.
A typedef's definition node is its declared name, with the span hook widening the start to the
``typedef`` keyword: ``typedef struct node {...} node_t;`` then yields ``node`` (struct) and
``node_t`` (type) side by side instead of nesting one in the other; its signature is the name.
Unions are kind ``struct``. Includes keep their delimiters: ``"x.h"`` or ``<x.h>``. ``.h`` files
are parsed as C (see ``cpp.py``). The C++ module reuses these pieces.
"""

from __future__ import annotations

import tree_sitter_c
from tree_sitter import Node

from ..model import Import
from .base import LanguageSpec, leading_comment, node_text

POINTER_WRAPPERS = (
    "{}",
    "(pointer_declarator declarator: {})",
    "(pointer_declarator declarator: (pointer_declarator declarator: {}))",
)


def function_pattern(name: str, wrappers: tuple[str, ...] = POINTER_WRAPPERS) -> str:
    """A ``function_definition`` whose function declarator, wrapped in any of ``wrappers``, has
    ``name`` as its declarator."""
    declarator = f"(function_declarator declarator: {name})"
    alternatives = " ".join(wrapper.format(declarator) for wrapper in wrappers)
    return f"(function_definition declarator: [{alternatives}]) @definition.function"


# Shared with C++: typedef names, macros, includes, and the references both grammars have.
SHARED_QUERY = """
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name @definition.type)
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name @definition.type))
(type_definition declarator: (array_declarator declarator: (type_identifier) @name @definition.type))
(type_definition declarator: (function_declarator declarator: (type_identifier) @name @definition.type))
(type_definition declarator: (function_declarator declarator: (parenthesized_declarator
  (pointer_declarator declarator: (type_identifier) @name @definition.type))))
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro

(preproc_include path: [(string_literal) (system_lib_string)]) @import

(identifier) @reference
(type_identifier) @reference
(field_identifier) @reference
"""

QUERY = SHARED_QUERY + function_pattern("(identifier) @name") + """
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
"""

_COMMENTS = frozenset({"comment"})
_STATEMENTS = frozenset({"type_definition", "declaration", "template_declaration"})


def statement(node: Node) -> Node:
    """The statement a definition is written in: its typedef, declaration or template."""
    if node.type == "type_identifier":  # a typedef name: climb out of its declarators
        while node.parent is not None and node.type != "type_definition":
            node = node.parent
    while node.parent is not None and node.parent.type in _STATEMENTS:
        node = node.parent
    return node


def doc(node: Node, span: Node, source: bytes) -> str:
    return leading_comment(span, source, _COMMENTS)  # the span is the statement


def imports(node: Node, source: bytes) -> list[Import]:
    path = node_text(node.child_by_field_name("path"), source)
    return [Import(path, node.start_point.row + 1)]


SPECS = (
    LanguageSpec(
        name="c",
        extensions=(".c", ".h"),
        grammar=tree_sitter_c.language,
        query=QUERY,
        imports=imports,
        doc=doc,
        doc_from_comment_above=True,
        span=statement,
        container_kinds=frozenset(),
    ),
)
