"""The symbol reference graph and a personalised PageRank over it (aider's repo-map idea, per symbol).

Stages, each its own function: `build_graph` (edges from the index: file A uses name N defined in
file B), `personalised_pagerank` (which files matter from where the user is), `rank_definitions`
(each file hands its rank to the definitions it uses, in proportion to how much it uses them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

DAMPING = 0.85
ITERATIONS = 30
TOLERANCE = 1e-6


@dataclass
class ReferenceGraph:
    files: list[str]
    file_ids: dict[str, int]
    sources: np.ndarray  # edge arrays over file ids, one entry per (user, definer) pair
    targets: np.ndarray
    weights: np.ndarray
    # one entry per (user file, defined name): the user's file id, the (definer, name) key, the
    # share of the user's outgoing weight that goes to that name
    use_sources: np.ndarray
    use_keys: np.ndarray
    use_shares: np.ndarray
    keys: list[tuple[int, str]]
    key_targets: np.ndarray
    generation: int = -1

    @property
    def edge_count(self) -> int:
        return len(self.sources)


def build_graph(edges: list[tuple[str, str, str, int]], generation: int = -1) -> ReferenceGraph:
    """Weight an edge by sqrt(occurrences) / number of files defining the name, so a name used
    often counts, but not linearly, and an ambiguous name splits its weight among its definers."""
    definers: dict[str, set[str]] = defaultdict(set)
    for _, definer, name, _ in edges:
        definers[name].add(definer)
    file_ids: dict[str, int] = {}
    for user, definer, _, _ in edges:
        file_ids.setdefault(user, len(file_ids))
        file_ids.setdefault(definer, len(file_ids))
    pair_weights: dict[tuple[int, int], float] = defaultdict(float)
    out_weight: dict[int, float] = defaultdict(float)
    key_ids: dict[tuple[int, str], int] = {}
    use_sources, use_keys, use_weights = [], [], []
    for user, definer, name, count in edges:
        weight = math.sqrt(count) / len(definers[name])
        source, target = file_ids[user], file_ids[definer]
        pair_weights[(source, target)] += weight
        out_weight[source] += weight
        use_sources.append(source)
        use_keys.append(key_ids.setdefault((target, name), len(key_ids)))
        use_weights.append(weight)
    pairs = list(pair_weights.items())
    sources = np.array(use_sources, dtype=np.int64)
    shares = np.array(use_weights, dtype=np.float64) / np.array([out_weight[s] for s in use_sources] or [1.0])
    return ReferenceGraph(
        files=list(file_ids),
        file_ids=file_ids,
        sources=np.array([s for (s, _), _ in pairs], dtype=np.int64),
        targets=np.array([t for (_, t), _ in pairs], dtype=np.int64),
        weights=np.array([w for _, w in pairs], dtype=np.float64),
        use_sources=sources,
        use_keys=np.array(use_keys, dtype=np.int64),
        use_shares=shares,
        keys=list(key_ids),
        key_targets=np.array([target for target, _ in key_ids], dtype=np.int64),
        generation=generation,
    )


def personalised_pagerank(graph: ReferenceGraph, seeds: dict[str, float]) -> np.ndarray:
    """PageRank whose random jumps land on the seed files (the cursor's file, open files...)."""
    size = len(graph.files)
    if size == 0:
        return np.zeros(0)
    jump = np.zeros(size)
    for path, weight in seeds.items():
        if path in graph.file_ids:
            jump[graph.file_ids[path]] += weight
    jump = jump / jump.sum() if jump.sum() > 0 else np.full(size, 1.0 / size)
    out_weight = np.bincount(graph.sources, weights=graph.weights, minlength=size)
    share = graph.weights / out_weight[graph.sources]
    dangling = out_weight == 0
    rank = jump.copy()
    for _ in range(ITERATIONS):
        flow = np.bincount(graph.targets, weights=rank[graph.sources] * share, minlength=size)
        updated = DAMPING * (flow + rank[dangling].sum() * jump) + (1 - DAMPING) * jump
        if np.abs(updated - rank).sum() < TOLERANCE:
            rank = updated
            break
        rank = updated
    return rank


def rank_definitions(
    graph: ReferenceGraph, rank: np.ndarray, limit: int, exclude: str | None = None
) -> list[tuple[str, str, float]]:
    """The ``limit`` best (definer path, name, score): each file passes its rank to the names it uses."""
    if not graph.keys:
        return []
    scores = np.bincount(graph.use_keys, weights=rank[graph.use_sources] * graph.use_shares, minlength=len(graph.keys))
    excluded = graph.file_ids.get(exclude) if exclude else None
    if excluded is not None:
        scores[graph.key_targets == excluded] = 0.0
    count = min(limit, len(scores))
    best = np.argpartition(-scores, count - 1)[:count]
    ranked = [(graph.files[graph.keys[k][0]], graph.keys[k][1], float(scores[k])) for k in best if scores[k] > 0]
    return sorted(ranked, key=lambda entry: (-entry[2], entry[0], entry[1]))
