"""Override families: renaming a method renames every declaration that overrides or is overridden by it.

``Shape.area`` and ``Square.area`` (``class Square(Shape)``) are one method to every caller that
holds a ``Shape``; renaming one alone would silently stop the override. The family is the
connected set of same-named methods linked by "class K declares it and an ancestor of K declares
it too", across files. Bases are read from each class's syntax (Python ``class K(A, m.B)``,
TS/JS ``extends``/``implements``) and resolved through the index, as member lookup does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from indexer import StoredDefinition

if TYPE_CHECKING:  # occurrences asks this module about super(): a type-only import keeps them acyclic
    from .occurrences import Finder

CLASS_KINDS = frozenset({"class", "interface", "struct", "trait", "enum"})
MAX_ANCESTOR_DEPTH = 12
MAX_FAMILY_CANDIDATES = 2000  # same-named methods examined; past this only the target's own line is followed


def is_method(finder: Finder, target: StoredDefinition) -> bool:
    parent = target.definition.parent
    return parent != -1 and finder.ws.index.definitions(target.path)[parent].definition.kind in CLASS_KINDS


def override_family(finder: Finder, target: StoredDefinition) -> list[StoredDefinition]:
    """``target`` and the same-named methods of its ancestors and descendants (and theirs), target first."""
    if not is_method(finder, target):
        return [target]
    name = target.definition.name
    candidates = [
        d for d in finder.ws.index.store.definitions_named(name)[:MAX_FAMILY_CANDIDATES] if is_method(finder, d)
    ]
    owners = {_key(d): _owner(finder, d) for d in candidates}
    declaring = {}  # class key -> the methods it declares under the name
    for method in candidates:
        declaring.setdefault(_key(owners[_key(method)]), []).append(method)
    groups = _UnionFind()
    for method in candidates:
        for ancestor in ancestors(finder, owners[_key(method)]):
            for overridden in declaring.get(_key(ancestor), ()):
                groups.union(_key(method), _key(overridden))
    root = groups.find(_key(target))
    family = [d for d in candidates if groups.find(_key(d)) == root and _key(d) != _key(target)]
    return [target, *family]


def ancestors(finder: Finder, klass: StoredDefinition) -> list[StoredDefinition]:
    """The classes ``klass`` inherits from, nearest first, each once (itself excluded)."""
    found: dict[tuple[str, int], StoredDefinition] = {}
    queue = [(base, 1) for base in bases(finder, klass)]
    while queue:
        current, depth = queue.pop(0)
        if _key(current) in found or _key(current) == _key(klass) or depth > MAX_ANCESTOR_DEPTH:
            continue
        found[_key(current)] = current
        queue += [(base, depth + 1) for base in bases(finder, current)]
    return list(found.values())


def bases(finder: Finder, klass: StoredDefinition) -> list[StoredDefinition]:
    """The workspace classes a class names as its bases."""
    d = klass.definition
    line = d.name_line - 1
    column = finder.lines.column(klass.path, line, d.name_col)
    name_node = finder.node_at(klass.path, line, column, d.name)
    if name_node is None or name_node.parent is None:
        return []
    found: list[StoredDefinition] = []
    for spelled in base_spellings(name_node.parent, klass.path.endswith((".py", ".pyi"))):
        for base in finder.ws.index.resolve(klass.path, spelled):
            if base.definition.kind in CLASS_KINDS and _key(base) != _key(klass) and base not in found:
                found.append(base)
    return found


def base_spellings(declaration: Node, python: bool) -> list[str]:
    """The (dotted) names a class declaration inherits from, as written."""
    if python:
        arguments = declaration.child_by_field_name("superclasses")
        children = arguments.named_children if arguments is not None else []
        return [_text(c) for c in children if c.type in ("identifier", "attribute")]
    spelled = []
    for clause in declaration.named_children:
        if clause.type == "class_heritage":
            spelled += [name for part in clause.named_children for name in _heritage_names(part)]
        elif clause.type == "extends_type_clause":  # interface I extends A, B
            spelled += _heritage_names(clause)
    return spelled


def _heritage_names(clause: Node) -> list[str]:
    names = []
    for child in clause.named_children:
        if child.type == "generic_type":
            child = child.child_by_field_name("name") or child
        if child.type in ("identifier", "type_identifier", "member_expression", "nested_type_identifier"):
            names.append(_text(child))
    return names


def _owner(finder: Finder, method: StoredDefinition) -> StoredDefinition:
    return finder.ws.index.definitions(method.path)[method.definition.parent]


def _key(d: StoredDefinition) -> tuple[str, int]:
    return (d.path, d.ord)


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace").replace(" ", "") if node.text is not None else ""


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, key: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.parent[self.find(a)] = self.find(b)
