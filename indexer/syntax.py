"""Parsing a file's text on demand, for callers that check or inspect syntax outside indexing.

Refactors parse the text they are about to propose (does it still parse?) and look at scopes; they
need the same grammar the index uses, not a second copy of the language table.
"""

from __future__ import annotations

from tree_sitter import Node, Tree

from .languages import language_for_path
from .worker import extractor_for


def parse_source(path: str, text: str) -> Tree | None:
    """The tree-sitter tree of ``text`` parsed as ``path``'s language; None for unindexed languages."""
    spec = language_for_path(path)
    if spec is None:
        return None
    return extractor_for(spec).parse(text.encode("utf-8"))


def syntax_error_count(tree: Tree) -> int:
    """How many ERROR and MISSING nodes the tree holds (0 for text that parses cleanly)."""
    count = 0
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count
