"""BM25 over the lexical chunks, one query term at a time, so a keystroke only asks about new terms.

FTS5's bm25() of an OR query is the sum, over its terms, of each term's own score in a chunk, so
a term's scores in every chunk holding it (its postings, asked of FTS5 once) can be kept and summed
for any later query. While the user types, a query differs from the previous one by a word or two:
those are fetched, and the previous query's per-chunk totals are updated by the terms that came and
went. Scores are summed in fixed point (integers), so a total is exact whichever way it was reached
and the same query always ranks the same. The kept postings hold for one state of the chunk table
(the caller names it); a new state drops them all, since every term's score depends on the corpus
statistics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from indexer import Index, QueryInterrupted

KEPT_TERMS = 4096
SCALE = float(1 << 32)  # fixed point: 64 terms of BM25 scores far below 2**26 each fit an int64
_EVERY_ROW = -1  # SQLite's LIMIT -1: no limit

Hit = tuple[str, int, int, float]  # path, start_line, end_line, score (higher is better)


class TermPostings:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._state: Hashable = None
        self._terms: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._ids: dict[tuple[str, int, int], int] = {}
        self._chunks: list[tuple[str, int, int]] = []
        self._path_ids: dict[str, int] = {}
        self._chunk_paths: list[int] = []  # per chunk id, its path's id
        self._chunk_paths_array = np.zeros(0, np.int64)
        self._summed: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # the terms in _totals
        self._totals = np.zeros(0, np.int64)  # per chunk id, the fixed-point BM25 of the summed terms
        self._fetching: set[str] = set()  # terms some thread is asking SQLite about

    def search(
        self,
        terms: list[str],
        state: Hashable,
        limit: int,
        exclude_path: str | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[Hit]:
        """The ``limit`` best chunks for ``terms`` by BM25, ties by path and line; ``exclude_path``'s
        chunks count for the statistics but are never hits. Raises QueryInterrupted when
        ``should_stop`` says so while a term is fetched (the terms fetched before it stay kept)."""
        while True:
            self.fetch(terms, state, should_stop)
            with self._lock:  # unless the state moved on (or a term was dropped) meanwhile: again
                if state == self._state and all(term in self._terms for term in terms):
                    self._sum({term: self._terms[term] for term in terms})
                    return self._best(limit, exclude_path)

    def fetch(self, terms: list[str], state: Hashable, should_stop: Callable[[], bool] | None = None) -> None:
        """Keep the postings of every term not kept yet. SQLite is asked outside the lock, so a
        search whose terms are all kept never waits on a fetch (a background one, say); a search
        with a deadline (``should_stop``) does not wait for a term another thread is fetching."""
        for term in dict.fromkeys(terms):
            with self._lock:
                if state != self._state:
                    self._reset(state)
                if term in self._terms:
                    self._terms.move_to_end(term)
                    continue
                if term in self._fetching and should_stop is not None:
                    raise QueryInterrupted(f"postings of {term!r} are being fetched")
                self._fetching.add(term)
            try:
                rows = self.index.store.search_chunks(f'"{term}"', _EVERY_ROW, None, should_stop)
            finally:
                with self._lock:
                    self._fetching.discard(term)
            with self._lock:
                if state == self._state and term not in self._terms:
                    self._keep(term, rows)

    def _reset(self, state: Hashable) -> None:
        self._state = state
        self._terms.clear()
        self._ids.clear()
        self._chunks.clear()
        self._path_ids.clear()
        self._chunk_paths.clear()
        self._chunk_paths_array = np.zeros(0, np.int64)
        self._summed = {}
        self._totals = np.zeros(0, np.int64)

    def _keep(self, term: str, rows: list[Hit]) -> None:
        ids = np.fromiter((self._chunk_id(path, start, end) for path, start, end, _ in rows), np.int64, len(rows))
        scores = np.fromiter((score for *_, score in rows), np.float64, len(rows))
        scores = np.maximum(np.rint(scores * SCALE), 1).astype(np.int64)  # every chunk holding it scores > 0
        self._terms[term] = (ids, scores)
        while len(self._terms) > KEPT_TERMS:
            self._terms.popitem(last=False)

    def _chunk_id(self, path: str, start: int, end: int) -> int:
        key = (path, start, end)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._chunks)
            self._chunks.append(key)
            self._chunk_paths.append(self._path_ids.setdefault(path, len(self._path_ids)))
        return found

    def _sum(self, wanted: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Bring the totals to the wanted terms: add those new to them, take away those gone, or
        start again when that is less work."""
        if len(self._totals) < len(self._chunks):
            self._totals = np.concatenate([self._totals, np.zeros(len(self._chunks) - len(self._totals), np.int64)])
        added = [term for term in wanted if term not in self._summed]
        gone = [term for term in self._summed if term not in wanted]
        if len(added) + len(gone) > len(wanted):
            self._totals[:] = 0
            self._summed = {}
            added, gone = list(wanted), []
        for term in added:
            ids, scores = wanted[term]
            self._totals[ids] += scores  # a chunk appears once in a term's postings
            self._summed[term] = wanted[term]
        for term in gone:
            ids, scores = self._summed.pop(term)
            self._totals[ids] -= scores

    def _best(self, limit: int, exclude_path: str | None) -> list[Hit]:
        if limit <= 0 or not self._summed:
            return []
        holding = np.flatnonzero(self._totals)
        excluded = self._path_ids.get(exclude_path) if exclude_path is not None else None
        if excluded is not None:
            if len(self._chunk_paths_array) != len(self._chunk_paths):
                self._chunk_paths_array = np.array(self._chunk_paths, np.int64)
            holding = holding[self._chunk_paths_array[holding] != excluded]
        totals = self._totals[holding]
        if holding.size > limit:  # everything scoring at least the limit-th best, then exact order
            threshold = np.partition(totals, holding.size - limit)[holding.size - limit]
            holding, totals = holding[totals >= threshold], totals[totals >= threshold]
        hits = [(*self._chunks[i], total / SCALE) for i, total in zip(holding.tolist(), totals.tolist(), strict=True)]
        hits.sort(key=lambda hit: (-hit[3], hit[0], hit[1]))
        return hits[:limit]
