"""One language's use of the compiled scanner: references in C, the rest of its query narrowed.

A language query (``languages/base.py``) is split in two: its plain ``(type) @reference``
patterns become node types the C walk records and are disabled, which leaves the structure query
(definitions, imports). The walk also finds the nodes where a structure pattern can start and
picks a depth k: the structure query runs from the root with max start depth k (the tree-sitter
query engine then skips the deep parts of the tree), and then for the matches starting deeper.
Run in C (a query without text predicates), that is once at each candidate below k with max start
depth 0, visiting little more than its children; through py-tree-sitter (which evaluates the
predicates), once rooted at each candidate below k that no other such candidate contains. Each
match starts in exactly one run, so the captures equal one full run of the query.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import ModuleType

from tree_sitter import Language, Node, Query, QueryCursor, Tree

log = logging.getLogger(__name__)

_REFERENCE_PATTERN = re.compile(rb"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*@reference")
IS_REFERENCE, IS_ROOT = 1, 2  # the flag bits of _scan.c
# What one extra query run costs, in tree nodes the query engine walks (measured on the stdlib):
# through py-tree-sitter (the whole subtree under a candidate), and run in C at the candidate alone.
RESCAN_COST = 40
RUN_COST = 3


@dataclass(slots=True)
class Scanned:
    """One tree's walk: the structure captures and the reference occurrences not yet grouped."""

    captures: dict[str, list[Node]]
    occurrences: bytes
    names: list[str]


class Scanner:
    """The compiled scanner set up for one language query."""

    def __init__(self, module: ModuleType, query: Query, flags: bytes, plan: bool, ignored: frozenset[str]) -> None:
        self._module = module
        self.query = query  # the structure query: the language query, its reference patterns disabled
        self._flags = flags
        # Text predicates (#eq?...) are evaluated by py-tree-sitter: such a query runs through it.
        self._query_in_c = not module.has_predicates(query)
        self._capture_names = [query.capture_name(index) for index in range(query.capture_count)]
        # What the plan weighs one more query run at, in tree nodes; negative: no plan, one full run.
        self.rescan_cost = (RUN_COST if self._query_in_c else RESCAN_COST) if plan else -1
        self._ignored = ignored
        self._fits: bool | None = None

    @classmethod
    def build(cls, module: ModuleType, language: Language, source: str, ignored: frozenset[str]) -> Scanner | None:
        """None when the query captures references in a form the C walk does not take over."""
        query = Query(language, source)
        reference_patterns = plain_reference_patterns(query, source.encode())
        if not reference_patterns:  # None (not all plain) or none at all
            return None
        flags = bytearray(language.node_kind_count)
        for index, kind in reference_patterns.items():
            symbol = language.id_for_node_kind(kind, True)
            if not symbol:
                return None
            flags[symbol] |= IS_REFERENCE
            query.disable_pattern(index)  # what is left is the structure query
        roots = module.pattern_roots(query)
        for symbol in roots or ():
            flags[symbol] |= IS_ROOT
        return cls(module, query, bytes(flags), roots is not None, ignored)

    def fits(self, tree: Tree) -> bool:
        """Whether the scanner reads this language's trees as py-tree-sitter does (checked on the
        first tree; the answer stands for the process)."""
        if self._fits is None:
            root = tree.root_node
            expected = (root.kind_id, root.start_byte, root.end_byte, root.child_count)
            self._fits = self._module.root(tree) == expected
            if not self._fits:
                log.warning("native scanner reads trees unlike py-tree-sitter: extraction runs in pure Python")
        return self._fits

    def scan(self, tree: Tree, source: bytes) -> Scanned:
        if self._query_in_c:
            occurrences, names, by_index = self._module.scan_structure(
                tree, source, self._flags, self._ignored, self.rescan_cost, self.query
            )
            captures = {name: nodes for name, nodes in zip(self._capture_names, by_index, strict=True) if nodes}
            return Scanned(captures, occurrences, names)
        occurrences, names, depth, deep = self._module.scan(tree, source, self._flags, self._ignored, self.rescan_cost)
        root = tree.root_node
        cursor = QueryCursor(self.query)
        if depth >= 0:
            cursor.set_max_start_depth(depth)
        captures = cursor.captures(root)
        if deep:
            captures = self._with_deep(captures, root, deep)
        return Scanned(captures, occurrences, names)

    def _with_deep(
        self, captures: dict[str, list[Node]], root: Node, deep: list[tuple[int, int, int]]
    ) -> dict[str, list[Node]]:
        """Adds the captures of the query run under each deep candidate (a node may be captured in
        two runs when two matches share it: kept once, as one run keeps it)."""
        cursor = QueryCursor(self.query)
        for start, end, symbol in deep:
            node = _node_at(root, start, end, symbol)
            if node is None:  # not found again: one full run instead
                return QueryCursor(self.query).captures(root)
            for name, nodes in cursor.captures(node).items():
                captures.setdefault(name, []).extend(nodes)
        return {name: list(dict.fromkeys(nodes)) for name, nodes in captures.items()}

    def definitions(self, source: bytes, groups: list, names: list[Node], rules: tuple) -> tuple[list, set[int]]:
        """The extractor's definition pass in C (its hooks still called): ``groups`` lists (kind,
        nodes) per definition capture, ``rules`` the extractor's fixed arguments (``_scan.c``)."""
        return self._module.definitions(source, groups, names, *rules)

    def references(self, scanned: Scanned, skip: set[int], packed: bool) -> dict:
        """Occurrences grouped by name (flat ``(line, col)`` lists, or ``array('i')`` bytes when
        ``packed``), leaving out those starting at a byte in ``skip`` (definition names)."""
        return self._module.pack(scanned.occurrences, scanned.names, skip, packed)


def plain_reference_patterns(query: Query, source: bytes) -> dict[int, str] | None:
    """Pattern index -> node type of each plain ``(type) @reference`` pattern; None when another
    pattern captures ``@reference`` too (the C walk could not take those over)."""
    found: dict[int, str] = {}
    for index in range(query.pattern_count):
        text = source[query.start_byte_for_pattern(index) : query.end_byte_for_pattern(index)].strip()
        match = _REFERENCE_PATTERN.fullmatch(text)
        if match is not None:
            found[index] = match.group(1).decode()
        elif b"@reference" in text:
            return None
    return found


def _node_at(root: Node, start: int, end: int, symbol: int) -> Node | None:
    """The outermost node of type ``symbol`` spanning exactly ``[start, end)``."""
    node: Node | None = root.descendant_for_byte_range(start, end)
    found = None
    while node is not None and node.start_byte == start and node.end_byte == end:
        if node.kind_id == symbol:
            found = node
        node = node.parent
    return found
