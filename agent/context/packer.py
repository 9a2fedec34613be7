"""Context packing for a cursor: run the sources (each under its deadline), fuse, pack to budget."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine import Tokenizer
from indexer import Index

from .background import BackgroundJobs
from .baselines import BASELINES
from .budget import Occupied, pack_candidates
from .deadline import Deadline
from .fusion import reciprocal_rank_fusion
from .retention import Retention
from .sources.definitions import DefinitionSource
from .sources.files import FileLines
from .sources.graph import GraphSource
from .sources.lexical import LexicalSource, NotReady
from .sources.recent import RecentSource
from .stable import StablePrefix
from .token_store import TokenStore
from .tokens import TokenCounter
from .types import Candidate, Pack, PackItem, PackRequest
from .window import cursor_window

# Definitions named around the cursor are the strongest evidence; the others fill in after them.
# With RRF_K = 60, a weight of 0.5 puts a source's best item level with the definitions' 60th.
SOURCE_WEIGHTS = {"definitions": 1.0, "recent": 0.6, "graph": 0.5, "lexical": 0.4}
STRATEGIES = ("default", *BASELINES)
VOLATILE_BUDGET = 8192  # the cursor-dependent tail; budget beyond it goes to the stable prefix


class UnknownStrategy(ValueError):
    pass


class ContextPacker:
    """Long-lived per workspace: its caches (file lines, token counts) carry over between requests."""

    def __init__(self, index: Index, tokenizer: Tokenizer) -> None:
        self.index = index
        self.files = FileLines(index)
        self.counter = TokenCounter(tokenizer, store=TokenStore(index.store.path.parent, tokenizer.name))
        self.jobs = BackgroundJobs()
        self.stable = StablePrefix(index, self.files, self.counter)
        self.retention = Retention()
        definitions = DefinitionSource(index, self.files)
        self.graph = graph = GraphSource(index, self.files, self.jobs)
        lexical = LexicalSource(index, self.jobs)
        recent = RecentSource(index, self.files)
        self.sources: dict[str, Callable[[PackRequest, Deadline], list[Candidate]]] = {
            "definitions": lambda request, deadline: definitions.candidates(request.cursor, deadline),
            "recent": lambda request, deadline: recent.candidates(request.cursor, deadline, request.recent_edits),
            "graph": lambda request, deadline: graph.candidates(request.cursor, deadline, _context_files(request)),
            "lexical": lambda request, deadline: lexical.candidates(request.cursor, deadline),
        }

    def prepare(self, progress: Callable[[int, int], None] | None = None) -> int:
        """What a first pack needs and indexing did not do, done now (after indexing, say): every
        file's token count (kept on disk per content) and map lines, the lexical search chunks,
        the reference graph. Returns the files' total tokens."""
        total = self.stable.prepare(progress)
        self.index.sync_chunks()
        self.graph.refresh()
        return total

    def pack(self, request: PackRequest) -> Pack:
        """Stable part first (repo map, whole files: cursor-independent), then the ranked tail."""
        if request.strategy not in STRATEGIES:
            raise UnknownStrategy(f"unknown strategy {request.strategy!r}; known: {', '.join(STRATEGIES)}")
        cursor = request.cursor
        self.files.typing_in(cursor.path)
        timings: dict[str, float] = {}
        window = cursor_window(cursor, request.window_budget, self.counter)
        occupied = Occupied()
        occupied.add(cursor.path, window.start_line, window.end_line)

        stable_items: list[PackItem] = []
        whole_repo = False
        if request.strategy == "default":
            started = time.perf_counter()
            stable = self.stable.build(cursor.path, request.budget, max(0, request.budget - VOLATILE_BUDGET))
            timings["stable"] = (time.perf_counter() - started) * 1000
            stable_items, whole_repo = stable.items, stable.whole_repo
            for item in stable_items:
                occupied.add(item.path, item.start_line, item.end_line)

        ranked, skipped = self._rank(request, timings)
        started = time.perf_counter()
        remaining = request.budget - sum(item.tokens for item in stable_items)
        misses: dict[tuple[str, int], int] = {}
        previous_ends: dict[tuple[str, int], int] = {}
        if request.strategy == "default":
            ranked, misses = self.retention.selection_order(cursor, ranked)
            previous_ends = self.retention.previous_ends(cursor)
        tail = pack_candidates(ranked, remaining, self.files, self.counter, occupied, previous_ends)
        if request.strategy == "default":
            tail = self.retention.prompt_order(cursor, tail)
            self.retention.remember(cursor, tail, ranked, misses)
        timings["packing"] = (time.perf_counter() - started) * 1000
        return Pack(
            budget=request.budget,
            items=stable_items + tail,
            window=window,
            strategy=request.strategy,
            mode="whole-repo" if whole_repo else "ranked",
            timings_ms=timings,
            skipped_sources=skipped,
            exact_tokens=self.counter.exact,
        )

    def _rank(self, request: PackRequest, timings: dict[str, float]) -> tuple[list[Candidate], list[str]]:
        skipped: list[str] = []
        if request.strategy != "default":
            started = time.perf_counter()
            ranked = BASELINES[request.strategy](self.index, self.files, request.cursor)
            timings[request.strategy] = (time.perf_counter() - started) * 1000
            return ranked, skipped
        rankings: dict[str, list[Candidate]] = {}
        for name, source in self.sources.items():
            if SOURCE_WEIGHTS.get(name, 0) <= 0:
                continue
            started = time.perf_counter()
            deadline = Deadline(request.deadline_ms)
            try:
                rankings[name] = source(request, deadline)
            except NotReady as why:
                skipped.append(f"{name}: {why}")
            timings[name] = (time.perf_counter() - started) * 1000
            if deadline.expired():
                skipped.append(f"{name}: past its {request.deadline_ms} ms deadline")
        return reciprocal_rank_fusion(rankings, SOURCE_WEIGHTS), skipped


def _context_files(request: PackRequest) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*request.open_files, *(edit.path for edit in request.recent_edits)]))
