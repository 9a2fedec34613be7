"""Reciprocal rank fusion: one ranking out of several sources' rankings.

RRF scores a candidate by sum(weight / (K + rank)) over the sources that propose it. It needs no
score calibration between sources (BM25 scores and PageRank mass are not comparable), and a span
two sources agree on rises above either source's own next best.
"""

from __future__ import annotations

from .types import Candidate

RRF_K = 60


def reciprocal_rank_fusion(rankings: dict[str, list[Candidate]], weights: dict[str, float]) -> list[Candidate]:
    """Pinned candidates first, in their source's order; then everything else by weighted RRF."""
    pinned = [c for candidates in rankings.values() for c in candidates if c.pinned]
    pinned_keys = {c.key for c in pinned}
    rest = {source: [c for c in candidates if c.key not in pinned_keys] for source, candidates in rankings.items()}
    return pinned + _fuse(rest, weights)


def _fuse(rankings: dict[str, list[Candidate]], weights: dict[str, float]) -> list[Candidate]:
    scores: dict[tuple[str, int, int], float] = {}
    first_seen: dict[tuple[str, int, int], Candidate] = {}
    reasons: dict[tuple[str, int, int], list[str]] = {}
    for source, candidates in rankings.items():
        weight = weights.get(source, 1.0)
        for rank, candidate in enumerate(candidates):
            key = candidate.key
            scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank + 1)
            first_seen.setdefault(key, candidate)
            reasons.setdefault(key, []).append(candidate.reason)
    order = sorted(scores, key=lambda key: (-scores[key], key))
    fused = []
    for key in order:
        candidate = first_seen[key]
        if len(reasons[key]) > 1:
            candidate = _with_reason(candidate, "; ".join(dict.fromkeys(reasons[key])))
        fused.append(candidate)
    return fused


def _with_reason(candidate: Candidate, reason: str) -> Candidate:
    from dataclasses import replace

    return replace(candidate, reason=reason)
