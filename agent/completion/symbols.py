"""Completion items from the index, without a model: the members of what is before the dot, and
importable names matching the word being typed."""

from __future__ import annotations

from dataclasses import dataclass

from indexer import Index, StoredDefinition

from ..context.cursor import cursor_expression
from ..context.types import Cursor

OWNER_KINDS = frozenset({"class", "interface", "struct", "trait", "enum", "module", "namespace"})
MIN_WORD = 2  # importable names only after two characters: one matches half the workspace


@dataclass(frozen=True)
class SymbolItem:
    label: str
    kind: str  # the definition's kind: function, class, method, variable...
    detail: str  # its signature
    path: str  # where it is defined
    doc: str
    member: bool  # completes `obj.|`; otherwise a name that may need an import


def symbol_items(index: Index, path: str, text: str, line: int, column: int, limit: int = 50) -> list[SymbolItem]:
    """Items for a cursor at 0-based (line, column) of ``path`` whose buffer is ``text``."""
    expression = cursor_expression(Cursor(path, line + 1, column + 1, text))
    if expression is None:
        return []
    if expression.is_member:
        found = _members(index, path, text, line + 1, expression.chain, expression.partial)
    elif len(expression.chain) >= MIN_WORD and "." not in expression.chain:
        found = _importable(index, expression.chain, limit)
    else:
        return []
    items: dict[str, SymbolItem] = {}
    for stored in found:
        d = stored.definition
        if d.name not in items:
            items[d.name] = SymbolItem(d.name, d.kind, d.signature, stored.path, d.doc, expression.is_member)
    return list(items.values())[:limit]


def _members(index: Index, path: str, text: str, line: int, chain: str, partial: str) -> list[StoredDefinition]:
    owners = [d for d in index.resolve(path, chain) if d.definition.kind in OWNER_KINDS]
    owners = owners or index.receiver_classes(path, line, chain, text)
    members = [m for owner in owners for m in index.all_members(owner)]
    hidden = not partial.startswith("_")
    return [
        m
        for m in members
        if m.definition.name.startswith(partial) and not (hidden and m.definition.name.startswith("_"))
    ]


def _importable(index: Index, word: str, limit: int) -> list[StoredDefinition]:
    return [
        d
        for d in index.search(word, limit * 4)
        if d.definition.parent == -1 and d.definition.name.startswith(word) and d.definition.name != word
    ]
