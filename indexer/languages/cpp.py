"""C++: the C definitions plus classes, namespaces, methods, templates and ``using`` aliases.

Extensions: ``.cc .cpp .cxx .c++`` sources and ``.hpp .hh .hxx .h++`` headers. Plain ``.h`` is
registered by the C spec only and parsed as C, since the extension alone cannot tell.
Quirks: functions defined inside a class or struct body are methods; an out-of-class
definition ``void Foo::bar()`` is named by the last component (``bar``, kind ``function``,
qualified only by the namespaces it is written in) because ``Foo`` may be a class or a namespace. Destructors and
operators keep their spelling (``~Foo``, ``operator==``). Namespaces are kind ``namespace``
and not containers, so their functions stay functions; ``namespace a::b`` is named ``a::b``.
A ``template <...>`` prefix belongs to the span of the class or function it declares. Member
declarations without a body (``void bar();`` in a class) are not definitions.
"""

from __future__ import annotations

import tree_sitter_cpp

from .base import LanguageSpec
from .c import POINTER_WRAPPERS, SHARED_QUERY, doc, function_pattern, imports, statement

_LAST_NAME = "[(identifier) (field_identifier) (destructor_name) (operator_name)] @name"
_QUALIFIED = " ".join("(qualified_identifier name: " * depth + _LAST_NAME + ")" * depth for depth in (1, 2, 3))
# The name, bare or after up to three ``a::b::`` qualifiers, as one flat alternation: tree-sitter
# matches an alternation nested directly in another alternation incompletely.
_NAME = f"[(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name {_QUALIFIED}]"
_WRAPPERS = (*POINTER_WRAPPERS, "(reference_declarator {})")
_TYPE_NAME = "name: [(type_identifier) @name (template_type name: (type_identifier) @name)]"

QUERY = SHARED_QUERY + function_pattern(_NAME, _WRAPPERS) + f"""
(class_specifier {_TYPE_NAME} body: (_)) @definition.class
(struct_specifier {_TYPE_NAME} body: (_)) @definition.struct
(union_specifier {_TYPE_NAME} body: (_)) @definition.struct
(namespace_definition name: (_) @name) @definition.namespace
(alias_declaration name: (type_identifier) @name) @definition.type

(namespace_identifier) @reference
"""

SPECS = (
    LanguageSpec(
        name="cpp",
        extensions=(".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++"),
        grammar=tree_sitter_cpp.language,
        query=QUERY,
        imports=imports,
        doc=doc,
        doc_from_comment_above=True,
        span=statement,
        container_kinds=frozenset({"class", "struct"}),
    ),
)
