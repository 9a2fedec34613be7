"""Whole files in a deterministic order, and the repo map (file tree with signatures).

Order: dependencies before dependents (a reader meets a definition before its uses), ties and
import cycles broken by path, so the same repository state always gives the same bytes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from indexer import Index

MAP_MEMBER_KINDS = frozenset({"method", "function", "constructor"})


def dependency_order(paths: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Topological order of ``paths`` under (importer, imported) edges; a cycle is entered at its
    smallest path. Deterministic: the same inputs give the same order."""
    wanted = set(paths)
    dependencies: dict[str, set[str]] = defaultdict(set)
    dependents: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        if importer in wanted and imported in wanted and importer != imported:
            dependencies[importer].add(imported)
            dependents[imported].add(importer)
    waiting = {path: len(dependencies[path]) for path in wanted}
    ready = [path for path, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    remaining = set(wanted)
    order: list[str] = []
    while remaining:
        if not ready:  # only cycles are left: enter the smallest one at its smallest path
            heapq.heappush(ready, min(remaining))
        path = heapq.heappop(ready)
        if path not in remaining:
            continue
        remaining.discard(path)
        order.append(path)
        for dependent in dependents[path]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0 and dependent in remaining:
                heapq.heappush(ready, dependent)
    return order


def repo_map(index: Index, paths: list[str]) -> str:
    """One line per file, then its top-level signatures and their members' signatures, indented."""
    return "\n".join(map_block(index, path) for path in paths)


def map_block(index: Index, path: str) -> str:
    """One file's part of the repo map: its path, then its signatures."""
    lines = [path]
    definitions = index.definitions(path)
    top_level = {stored.ord for stored in definitions if stored.definition.parent == -1}
    for stored in definitions:
        d = stored.definition
        if d.parent == -1:
            lines.append(f"  {d.signature or d.name}")
        elif d.parent in top_level and d.kind in MAP_MEMBER_KINDS:
            lines.append(f"    {d.signature or d.name}")
    return "\n".join(lines)
