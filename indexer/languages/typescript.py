"""TypeScript and TSX: the JavaScript patterns plus types, interfaces, enums and namespaces.

Two grammars (``.tsx`` needs the JSX-aware one) share one query and the JavaScript hooks.
``.d.ts`` files are plain ``.ts``. Namespaces (``namespace N {}``, ``module N {}``,
``declare module "m" {}``) are kind ``module`` and not containers, so their functions stay
functions; interfaces and classes make their members methods. Members of inline object types
(``props: { text: string }``) are not definitions; interface members are. Overload signatures and
``declare function`` are each a definition (methods in classes). ``import type``/``export type`` read
like their value forms; ``import x = require("m")`` is a whole-module import aliased ``x``.
"""

from __future__ import annotations

import tree_sitter_typescript

from .base import LanguageSpec
from .javascript import SHARED_QUERY, doc, imports, statement, variables

QUERY = SHARED_QUERY + f"""
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.interface
(type_alias_declaration name: (_) @name) @definition.type
(enum_declaration name: (_) @name) @definition.enum
(internal_module name: (_) @name) @definition.module
(module name: [(identifier) @name (nested_identifier) @name (string (string_fragment) @name)]) @definition.module
(function_signature name: (_) @name) @definition.function
(interface_body (method_signature name: (_) @name) @definition.function)
(class_body (method_signature name: (_) @name) @definition.function)
(abstract_method_signature name: (_) @name) @definition.function
(interface_body (property_signature name: (_) @name) @definition.field)
(public_field_definition name: (_) @name) @definition.field
{variables("program", "ambient_declaration")}
{variables("internal_module", "statement_block")}
{variables("internal_module", "statement_block", "export_statement")}
{variables("module", "statement_block")}
{variables("module", "statement_block", "export_statement")}

(type_identifier) @reference
"""

_CONTAINERS = frozenset({"class", "interface"})

SPECS = (
    LanguageSpec(
        name="typescript",
        extensions=(".ts", ".mts", ".cts"),
        grammar=tree_sitter_typescript.language_typescript,
        query=QUERY,
        imports=imports,
        doc=doc,
        doc_from_comment_above=True,
        span=statement,
        container_kinds=_CONTAINERS,
    ),
    LanguageSpec(
        name="tsx",
        extensions=(".tsx",),
        grammar=tree_sitter_typescript.language_tsx,
        query=QUERY,
        imports=imports,
        doc=doc,
        doc_from_comment_above=True,
        span=statement,
        container_kinds=_CONTAINERS,
    ),
)
