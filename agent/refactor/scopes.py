"""Which enclosing scope binds a name at an identifier, from the file's syntax tree.

The index knows top-level definitions and imports; a parameter, local variable or loop variable of
the same name as a module-level symbol is invisible to it. Rename must leave those alone, so every
candidate occurrence is checked here: a name bound by an enclosing function (or, for code directly
in a class body, by that class; for JS/TS, by a block) is local to it, not the module's symbol.
Python: parameters, assignments, for/with/except/walrus targets, nested def/class, imports, with
``global``/``nonlocal`` honoured. JS/TS: parameters (with destructuring), var/let/const, function
and class declarations, catch and for-of/in variables. Go: parameters, results and receivers,
``:=``, var/const/type declarations in blocks, and the variables of range, for, if and switch
headers.
"""

from __future__ import annotations

from tree_sitter import Node

_PY_FUNCTIONS = frozenset({"function_definition", "lambda"})
_PY_COMPREHENSIONS = frozenset(
    {"list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression"}
)
_PY_NESTED = _PY_FUNCTIONS | _PY_COMPREHENSIONS | {"class_definition"}
_PY_PATTERNS = frozenset(
    {
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "tuple",
        "list",
        "list_splat_pattern",
        "list_splat",
        "parenthesized_expression",
        "as_pattern_target",
    }
)

_PY_PARAMETERS = frozenset(
    {
        "typed_parameter",
        "default_parameter",
        "typed_default_parameter",
        "list_splat_pattern",
        "dictionary_splat_pattern",
    }
)

_JS_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "function_expression",
        "function",
        "arrow_function",
        "method_definition",
        "generator_function_declaration",
        "generator_function",
    }
)
_JS_BLOCKS = frozenset({"statement_block", "for_statement", "for_in_statement", "catch_clause"})
_JS_DECLARATIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "class_declaration", "abstract_class_declaration"}
)
_JS_PATTERN_LEAVES = frozenset({"identifier", "shorthand_property_identifier_pattern"})


def binding_scope(node: Node, name: str, path: str) -> Node | None:
    """The innermost enclosing scope node that binds ``name`` at ``node`` in the file ``path``; None
    when it is the module's (for Go: the package's)."""
    if path.endswith((".py", ".pyi")):
        return _python_scope(node, name)
    return _go_scope(node, name) if path.endswith(".go") else _js_scope(node, name)


def import_binding(scope: Node, name: str) -> Node | None:
    """In a Python function or class body: the identifier inside an import statement that binds
    ``name`` there (``from m import name``, ``from m import x as name``), or None."""
    body = scope.child_by_field_name("body")
    stack = list(body.named_children) if body is not None else []
    while stack:
        node = stack.pop()
        if node.type in _PY_NESTED:
            continue
        if node.type == "import_from_statement":
            for child in node.children_by_field_name("name"):
                if child.type == "aliased_import":
                    alias = child.child_by_field_name("alias")
                    if _text(alias) == name:
                        imported = child.child_by_field_name("name")
                        return imported.named_children[-1] if imported.named_children else imported
                elif _text(child).rsplit(".", 1)[-1] == name:
                    return child.named_children[-1] if child.named_children else child
            continue
        stack.extend(node.named_children)
    return None


# -- Python ----------------------------------------------------------------------------------------


def _python_scope(node: Node, name: str) -> Node | None:
    crossed_function = False
    child, current = node, node.parent
    while current is not None:
        kind = current.type
        body = current.child_by_field_name("body")
        inside_body = body is not None and body.start_byte <= child.start_byte and child.end_byte <= body.end_byte
        if kind in _PY_FUNCTIONS and _is_parameter_name(node, current):
            return current
        if kind in _PY_FUNCTIONS and inside_body:
            declared, bound = _python_function_bindings(current)
            if name in declared.get("global", set()):
                return None
            if name in bound and name not in declared.get("nonlocal", set()):
                return current
            crossed_function = True
        elif kind == "class_definition" and inside_body and not crossed_function:
            if name in _python_block_bindings(body)[1]:
                return current
        elif kind in _PY_COMPREHENSIONS:
            if name in _comprehension_bindings(current):
                return current
        child, current = current, current.parent
    return None


def _is_parameter_name(node: Node, function: Node) -> bool:
    """Whether ``node`` is the name a parameter of ``function`` declares (not a default or annotation)."""
    parameters = function.child_by_field_name("parameters")
    parent = node.parent
    if parameters is None or parent is None:
        return False
    if parent == parameters:
        return True
    if parent.parent == parameters or (parent.parent is not None and parent.parent.parent == parameters):
        return parent.type in _PY_PARAMETERS and node.start_byte == _first_identifier_start(parent)
    return False


def _first_identifier_start(parameter: Node) -> int:
    named = parameter.child_by_field_name("name")
    if named is not None:
        return named.start_byte
    for child in parameter.named_children:
        if child.type == "identifier":
            return child.start_byte
    return -1


def _python_function_bindings(function: Node) -> tuple[dict[str, set[str]], set[str]]:
    bound: set[str] = set()
    parameters = function.child_by_field_name("parameters")
    for parameter in parameters.named_children if parameters is not None else ():
        bound.update(_parameter_names(parameter))
    body = function.child_by_field_name("body")
    if body is None:
        return {}, bound
    if function.type == "lambda":
        return {}, bound
    declared, names = _python_block_bindings(body)
    return declared, bound | names


def _parameter_names(parameter: Node) -> list[str]:
    if parameter.type == "identifier":
        return [_text(parameter)]
    named = parameter.child_by_field_name("name")
    if named is not None:
        return _parameter_names(named)
    for child in parameter.named_children:  # typed_parameter, splat patterns: the identifier comes first
        if child.type in ("identifier", "list_splat_pattern", "dictionary_splat_pattern"):
            return _parameter_names(child)
    return []


def _python_block_bindings(body: Node) -> tuple[dict[str, set[str]], set[str]]:
    """Names a function or class body binds (not descending into nested scopes), and its
    ``global``/``nonlocal`` declarations."""
    declared: dict[str, set[str]] = {"global": set(), "nonlocal": set()}
    bound: set[str] = set()
    stack = list(body.named_children)
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in ("function_definition", "class_definition"):
            bound.add(_text(node.child_by_field_name("name")))
            continue
        if kind in _PY_NESTED:
            continue
        if kind in ("assignment", "augmented_assignment", "for_statement"):
            bound.update(_pattern_names(node.child_by_field_name("left")))
        elif kind == "as_pattern":
            bound.update(_pattern_names(node.child_by_field_name("alias")))
        elif kind == "named_expression":
            bound.update(_pattern_names(node.child_by_field_name("name")))
        elif kind in ("import_statement", "import_from_statement"):
            bound.update(_imported_names(node))
            continue
        elif kind in ("global_statement", "nonlocal_statement"):
            declared[kind.split("_")[0]].update(_text(n) for n in node.named_children if n.type == "identifier")
            continue
        stack.extend(node.named_children)
    return declared, bound


def _comprehension_bindings(comprehension: Node) -> set[str]:
    bound: set[str] = set()
    for clause in comprehension.named_children:
        if clause.type == "for_in_clause":
            bound.update(_pattern_names(clause.child_by_field_name("left")))
    return bound


def _pattern_names(node: Node | None) -> list[str]:
    if node is None:
        return []
    if node.type == "identifier":
        return [_text(node)]
    if node.type in _PY_PATTERNS:
        return [name for child in node.named_children for name in _pattern_names(child)]
    return []


def _imported_names(statement: Node) -> list[str]:
    names = []
    for child in statement.children_by_field_name("name"):
        if child.type == "aliased_import":
            names.append(_text(child.child_by_field_name("alias")))
        elif statement.type == "import_statement":
            names.append(_text(child).split(".")[0])
        else:
            names.append(_text(child).rsplit(".", 1)[-1])
    return names


# -- JavaScript / TypeScript -----------------------------------------------------------------------


def _js_scope(node: Node, name: str) -> Node | None:
    current = node.parent
    while current is not None and current.type != "program":
        if current.type in _JS_FUNCTIONS and _js_binds(current, name):
            return current
        if current.type in _JS_BLOCKS and _js_binds(current, name):
            return current
        current = current.parent
    return None


def _js_binds(scope: Node, name: str) -> bool:
    return name in _js_bindings(scope)


def _js_bindings(scope: Node) -> set[str]:
    bound: set[str] = set()
    kind = scope.type
    if kind in _JS_FUNCTIONS:
        parameters = scope.child_by_field_name("parameters") or scope.child_by_field_name("parameter")
        if parameters is not None:
            bound.update(_js_pattern_names(parameters))
        own = scope.child_by_field_name("name")
        if kind in ("function_expression", "function", "generator_function") and own is not None:
            bound.add(_text(own))  # a named function expression sees its own name
        body = scope.child_by_field_name("body")
        if body is not None:
            bound.update(_var_declarations(body))
        return bound
    if kind == "catch_clause":
        return set(_js_pattern_names(scope.child_by_field_name("parameter")))
    if kind == "for_in_statement":
        if scope.child_by_field_name("kind") is not None:
            bound.update(_js_pattern_names(scope.child_by_field_name("left")))
        return bound
    if kind == "for_statement":
        initializer = scope.child_by_field_name("initializer")
        if initializer is not None and initializer.type == "lexical_declaration":
            bound.update(_declarator_names(initializer))
        return bound
    for statement in scope.named_children:  # statement_block: let/const, function and class declarations
        if statement.type == "lexical_declaration":
            bound.update(_declarator_names(statement))
        elif statement.type in _JS_DECLARATIONS:
            declared = statement.child_by_field_name("name")
            if declared is not None:
                bound.add(_text(declared))
    return bound


def _var_declarations(body: Node) -> set[str]:
    """``var`` names anywhere in a function body (they are function-scoped), not in nested functions."""
    bound: set[str] = set()
    stack = [body]
    while stack:
        node = stack.pop()
        if node.type == "variable_declaration":
            bound.update(_declarator_names(node))
        for child in node.named_children:
            if child.type not in _JS_FUNCTIONS:
                stack.append(child)
    return bound


def _declarator_names(declaration: Node) -> list[str]:
    names = []
    for declarator in declaration.named_children:
        if declarator.type == "variable_declarator":
            names += _js_pattern_names(declarator.child_by_field_name("name"))
    return names


def _js_pattern_names(node: Node | None) -> list[str]:
    """Names a parameter list or destructuring pattern binds (defaults and keys excluded)."""
    if node is None:
        return []
    if node.type in _JS_PATTERN_LEAVES:
        return [_text(node)]
    if node.type == "pair_pattern":
        return _js_pattern_names(node.child_by_field_name("value"))
    if node.type in ("assignment_pattern", "object_assignment_pattern"):
        return _js_pattern_names(node.child_by_field_name("left"))
    if node.type in ("required_parameter", "optional_parameter"):
        return _js_pattern_names(node.child_by_field_name("pattern"))
    if node.type in ("formal_parameters", "object_pattern", "array_pattern", "rest_pattern"):
        return [name for child in node.named_children for name in _js_pattern_names(child)]
    return []


# -- Go --------------------------------------------------------------------------------------------

_GO_FUNCTIONS = frozenset({"function_declaration", "method_declaration", "func_literal"})
_GO_HEADERS = frozenset(
    {"for_statement", "if_statement", "expression_switch_statement", "type_switch_statement", "select_statement"}
)
_GO_DECLARED = frozenset({"var_spec", "const_spec", "type_spec", "type_alias"})


def _go_scope(node: Node, name: str) -> Node | None:
    current = node.parent
    while current is not None and current.type != "source_file":
        if name in _go_bindings(current):
            return current
        current = current.parent
    return None


def _go_bindings(scope: Node) -> set[str]:
    kind = scope.type
    if kind in _GO_FUNCTIONS:
        lists = [scope.child_by_field_name(f) for f in ("receiver", "parameters", "result")]
        return {
            _text(n)
            for listing in lists
            if listing is not None and listing.type == "parameter_list"
            for declaration in listing.named_children
            for n in declaration.children_by_field_name("name")
        }
    if kind in _GO_HEADERS:
        bound: set[str] = set()
        for child in scope.named_children:
            if child.type in ("short_var_declaration", "range_clause", "for_clause", "type_switch_header"):
                bound.update(_go_short_names(child))
        alias = scope.child_by_field_name("alias")  # switch v := x.(type)
        if alias is not None:
            bound.update(_text(n) for n in alias.named_children if n.type == "identifier")
        return bound
    if kind not in ("block", "statement_list", "communication_case", "expression_case", "type_case"):
        return set()
    bound = set()
    for statement in scope.named_children:
        if statement.type == "short_var_declaration":
            bound.update(_go_short_names(statement))
        elif statement.type in ("var_declaration", "const_declaration", "type_declaration"):
            stack = list(statement.named_children)
            while stack:
                spec = stack.pop()
                if spec.type in _GO_DECLARED:
                    bound.update(_text(n) for n in spec.children_by_field_name("name"))
                else:
                    stack.extend(spec.named_children)
    return bound


def _go_short_names(node: Node) -> list[str]:
    """Names a ``:=`` (also inside a range or for clause) declares."""
    if node.type == "for_clause":
        initializer = node.child_by_field_name("initializer")
        return _go_short_names(initializer) if initializer is not None else []
    if node.type == "range_clause" and b":=" not in (node.text or b""):
        return []
    if node.type not in ("short_var_declaration", "range_clause"):
        return []
    left = node.child_by_field_name("left")
    return [_text(n) for n in (left.named_children if left is not None else []) if n.type == "identifier"]


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""
