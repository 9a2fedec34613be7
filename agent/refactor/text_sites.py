"""What a rename does to text that is not code: ``__all__`` order, Python string annotations (forward
references such as ``-> "Circle"``, always), and (opt-in) strings and comments.

A sorted ``__all__`` stays sorted: packages test that it is (httpx compares it with
``sorted(..., key=str.casefold)``), and a renamed entry left in the old place breaks that. The
list's string contents are permuted in place, so quotes, commas and line breaks stay (a list with
comments inside is left in its order).

The opt-in mode, like PyCharm's "Search in comments and strings", also renames the old name where
it is a whole word inside a string literal or a comment anywhere in the workspace: code kept in
strings (``"app = flask.Flask(__name__)"`` written to a file by a test), names in docs. Off by
default, because such text may mean something else by the same word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tree_sitter import Node

from indexer import StoredDefinition

from ..navigate import Token
from .occurrences import Finder, Site

SORT_KEYS: tuple[Callable[[str], str], ...] = (lambda s: s, str.casefold)  # plain first, then as httpx sorts
TEXT_NODE_TYPES = frozenset({"string_content", "string_fragment", "comment"})


def all_order_sites(finder: Finder, string_sites: list[Site], old: str, new: str) -> list[tuple[Site, str]]:
    """(site, new text) for ``__all__`` entries: the renamed entry itself, or, where the list was
    sorted, every entry whose content changes when the renamed list is sorted the same way."""
    edits: list[tuple[Site, str]] = []
    done: set[tuple[str, int]] = set()
    for site in string_sites:
        node = finder.node_at_string(site.path, site.line, site.start, old)
        listing = node.parent.parent if node is not None and node.parent is not None else None
        if listing is None or (site.path, listing.start_byte) in done:
            continue
        done.add((site.path, listing.start_byte))
        contents = _plain_contents(listing)
        values = [c.text.decode("utf-8", "replace") for c in contents] if contents else []
        key = next((k for k in SORT_KEYS if len(values) > 1 and values == sorted(values, key=k)), None)
        if key is None:
            edits += [(s, new) for s in string_sites if s.path == site.path and _inside(finder, s, listing, old)]
            continue
        renamed = sorted((new if v == old else v for v in values), key=key)
        for content, before, after in zip(contents, values, renamed, strict=True):
            if before != after:
                edits.append((_site_of(finder, site.path, content, "string"), after))
    return edits


def text_sites(finder: Finder, old: str, taken: set[tuple[str, int, int]]) -> list[Site]:
    """Whole-word ``old`` inside string literals and comments of every indexed file (not ``taken``)."""
    word = re.compile(rf"(?<![\w$]){re.escape(old)}(?![\w$])")
    found = []
    for path in sorted(finder.ws.index.store.paths()):
        text = finder.lines.text(path)
        if not text or old not in text:
            continue
        tree = finder.tree(path)
        if tree is None:
            continue
        for node in _text_nodes(tree.root_node):
            row, byte_col = node.start_point
            body = node.text.decode("utf-8", "replace")
            for match in word.finditer(body):
                line = row + body.count("\n", 0, match.start())
                line_start = body.rfind("\n", 0, match.start()) + 1
                offset = match.start() - line_start
                start = (finder.lines.column(path, line, byte_col) if line == row else 0) + offset
                if (path, line, start) not in taken:
                    found.append(Site(path, line, start, start + len(old), "text"))
    return found


def annotation_sites(finder: Finder, targets: list[StoredDefinition], name: str, paths: set[str]) -> list[Site]:
    """``name`` inside Python string annotations (forward references: ``-> "Circle"``,
    ``Optional["Circle"]``, ``"models.Circle | None"``) of ``paths``, where it denotes a target."""
    word = re.compile(rf"(?<![\w.])((?:[A-Za-z_]\w*\.)*){re.escape(name)}(?!\w)")
    found = []
    for path in sorted(p for p in paths if p.endswith((".py", ".pyi"))):
        tree = finder.tree(path)
        for node in _text_nodes(tree.root_node) if tree is not None else ():
            if node.type != "string_content" or node.start_point[0] != node.end_point[0] or not _in_annotation(node):
                continue
            row, byte_col = node.start_point
            base = finder.lines.column(path, row, byte_col)
            for match in word.finditer(node.text.decode("utf-8", "replace")):
                start = base + match.start() + len(match.group(1))
                token = Token(name, row, start, start + len(name), match.group(1) + name)
                hit = finder._hits(finder.resolver.resolve(path, token), targets)
                if hit and (match.group(1) or finder._bound_to(path, name, targets[0])):
                    found.append(Site(path, row, start, start + len(name), "annotation"))
    return found


def _in_annotation(node: Node) -> bool:
    """Whether a string is (inside) a type annotation, not an argument of a call within it."""
    current = node.parent
    while current is not None:
        if current.type == "type":
            return True
        if current.type in ("call", "block", "expression_statement", "module"):
            return False
        current = current.parent
    return False


def _text_nodes(root: Node) -> list[Node]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.type in TEXT_NODE_TYPES:
            found.append(node)
        else:
            stack.extend(node.children)
    return found


def _plain_contents(listing: Node) -> list[Node]:
    """The string_content nodes of a list or tuple made only of plain string literals, else [] (also
    when a comment is inside: it may speak of the entry next to it, which must then stay put)."""
    if listing.type not in ("list", "tuple"):
        return []
    contents = []
    for element in listing.named_children:
        inner = [c for c in element.named_children if c.type == "string_content"]
        if element.type != "string" or len(inner) != 1 or len(element.named_children) != 3:
            return []
        contents.append(inner[0])
    return contents


def _inside(finder: Finder, site: Site, listing: Node, old: str) -> bool:
    node = finder.node_at_string(site.path, site.line, site.start, old)
    return node is not None and listing.start_byte <= node.start_byte < listing.end_byte


def _site_of(finder: Finder, path: str, content: Node, kind: str) -> Site:
    row, byte_col = content.start_point
    start = finder.lines.column(path, row, byte_col)
    return Site(path, row, start, start + len(content.text.decode("utf-8", "replace")), kind)
