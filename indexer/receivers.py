"""The class of a receiver at a place in a file, inferred locally (Python for now).

``client.send(`` needs the class of ``client``. Inside the function around the cursor, the rules
are, in order:
1. the last binding of ``v`` above the cursor: ``v: C = ...`` (its annotation) or ``v = C(...)``
   (the called name, which the caller checks is a class);
2. a parameter ``v: C`` (also ``"C"``, ``Optional[C]``, ``Union[C, None]``, ``C | None``, ``C[...]``);
3. for ``self.attr``: an annotated ``self.attr: C`` anywhere in the enclosing class's methods, else
   the last ``self.attr = C(...)`` there.
The answer is a (possibly dotted) name as written in the file, to be resolved through its imports.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from tree_sitter import Node, Tree

from .extract import Extractor
from .names import split_top_level

_NAME = re.compile(r"[A-Za-z_][\w.]*")
_FUNCTIONS = frozenset({"function_definition"})
_TREE_CACHE_SIZE = 16
_trees: OrderedDict[tuple[str, bytes], Tree] = OrderedDict()
_trees_lock = threading.Lock()


def _parse(extractor: Extractor, source: bytes) -> Tree:
    """The tree of ``source``, reusing a recent parse of the same text: finding references asks
    about many receivers of one file in a row, and a parse costs far more than the lookup."""
    key = (extractor.spec.name, source)
    with _trees_lock:
        tree = _trees.get(key)
        if tree is not None:
            _trees.move_to_end(key)
            return tree
    tree = extractor.parse(source)
    with _trees_lock:
        _trees[key] = tree
        while len(_trees) > _TREE_CACHE_SIZE:
            _trees.popitem(last=False)
    return tree


def receiver_class(extractor: Extractor, source: bytes, line: int, receiver: str) -> str | None:
    """The class name ``receiver`` (``v`` or ``self.attr``) has at 1-based ``line``, or None."""
    if extractor.spec.name != "python":
        return None
    row = line - 1
    root = _parse(extractor, source).root_node
    function = _innermost(root, row, _FUNCTIONS, source)
    if root.has_error:  # without an error, neutralising a line cannot put a function around it
        # the half-typed cursor line (`x = a.b(`) can break the function's syntax: infer from the
        # file with that line neutralised, since what the receiver is comes from lines above it
        source = _neutralise_line(source, row)
        root = _parse(extractor, source).root_node  # cached too: a keystroke asks about several receivers
        function = _innermost(root, row, _FUNCTIONS, source)
    if function is None:
        return None
    if receiver.startswith("self.") and receiver.count(".") == 1:
        klass = _innermost(root, row, frozenset({"class_definition"}), source)
        return _self_attribute_class(klass, receiver[5:], source) if klass is not None else None
    if not receiver.isidentifier():
        return None
    return _local_binding_class(function, receiver, row, source) or _parameter_class(function, receiver, source)


def _neutralise_line(source: bytes, row: int) -> bytes:
    lines = source.split(b"\n")
    if row < len(lines):
        text = lines[row]
        lines[row] = text[: len(text) - len(text.lstrip())] + b"pass"
    return b"\n".join(lines)


def annotation_class(text: str) -> str | None:
    """``C`` from an annotation such as ``Optional["C"]``, ``C | None`` or ``C[int]``."""
    text = text.strip().strip("\"'")
    for wrapper in ("Optional", "Union"):
        match = re.fullmatch(rf"(?:\w+\.)?{wrapper}\[(.*)\]", text, re.S)
        if match:
            text = match.group(1)
            break
    parts = [p.strip().strip("\"'") for p in split_top_level(text.replace("|", ","))]
    parts = [p for p in parts if p and p != "None"]
    if len(parts) != 1:
        return None
    name = re.sub(r"\[.*\]$", "", parts[0], flags=re.S).strip().strip("\"'")
    return name if _NAME.fullmatch(name) else None


def return_annotation(signature: str) -> str | None:
    """The class a Python signature's return annotation names (``def f(...) -> Response``)."""
    _, arrow, returned = signature.rpartition("->")
    return annotation_class(returned) if arrow else None


def _innermost(root: Node, row: int, types: frozenset[str], source: bytes) -> Node | None:
    lines = source.split(b"\n", row + 1)
    text = lines[row] if row < len(lines) else b""
    column = len(text) - len(text.lstrip())  # indentation belongs to no node: start at the code
    node = root.descendant_for_point_range((row, column), (row, column))
    while node is not None and node.type not in types:
        node = node.parent
    return node


def _text(node: Node | None, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace") if node is not None else ""


def _assignments(scope: Node) -> list[Node]:
    """Assignments in a function or class body, not descending into nested functions or classes."""
    found, stack = [], [scope.child_by_field_name("body")]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "assignment":
            found.append(node)
        for child in node.named_children:
            if child.type not in ("function_definition", "class_definition", "lambda"):
                stack.append(child)
    return sorted(found, key=lambda n: n.start_byte)


def _bound_class(assignment: Node, source: bytes) -> str | None:
    annotation = assignment.child_by_field_name("type")
    if annotation is not None:
        return annotation_class(_text(annotation, source))
    value = assignment.child_by_field_name("right")
    if value is not None and value.type == "call":
        called = _text(value.child_by_field_name("function"), source)
        return called if _NAME.fullmatch(called) else None
    return None


def _local_binding_class(function: Node, name: str, row: int, source: bytes) -> str | None:
    bindings = [
        a
        for a in _assignments(function)
        if a.start_point.row < row and _text(a.child_by_field_name("left"), source) == name
    ]
    return _bound_class(bindings[-1], source) if bindings else None


def _parameter_class(function: Node, name: str, source: bytes) -> str | None:
    parameters = function.child_by_field_name("parameters")
    for parameter in parameters.named_children if parameters is not None else ():
        if parameter.type not in ("typed_parameter", "typed_default_parameter"):
            continue
        declared = parameter.child_by_field_name("name") or parameter.named_child(0)
        if _text(declared, source) == name:
            return annotation_class(_text(parameter.child_by_field_name("type"), source))
    return None


def _self_attribute_class(klass: Node, attribute: str, source: bytes) -> str | None:
    target = f"self.{attribute}"
    constructed = None
    body = klass.child_by_field_name("body")
    for method in body.named_children if body is not None else ():
        if method.type == "decorated_definition":
            method = method.child_by_field_name("definition")
        if method is None or method.type != "function_definition":
            continue
        for assignment in _assignments(method):
            if _text(assignment.child_by_field_name("left"), source) != target:
                continue
            if assignment.child_by_field_name("type") is not None:
                return _bound_class(assignment, source)
            constructed = _bound_class(assignment, source) or constructed
    return constructed
