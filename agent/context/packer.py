"""Context packing for a cursor: run the sources (each under its deadline), fuse, pack to budget."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine import Tokenizer
from indexer import Index

from .baselines import BASELINES
from .budget import Occupied, pack_candidates
from .deadline import Deadline
from .fusion import reciprocal_rank_fusion
from .sources.definitions import DefinitionSource
from .sources.files import FileLines
from .tokens import TokenCounter
from .types import Candidate, Pack, PackRequest
from .window import cursor_window

SOURCE_WEIGHTS = {"definitions": 1.0}
STRATEGIES = ("default", *BASELINES)


class UnknownStrategy(ValueError):
    pass


class ContextPacker:
    """Long-lived per workspace: its caches (file lines, token counts) carry over between requests."""

    def __init__(self, index: Index, tokenizer: Tokenizer) -> None:
        self.index = index
        self.files = FileLines(index)
        self.counter = TokenCounter(tokenizer)
        self.sources: dict[str, Callable] = {
            "definitions": DefinitionSource(index, self.files).candidates,
        }

    def pack(self, request: PackRequest) -> Pack:
        if request.strategy not in STRATEGIES:
            raise UnknownStrategy(f"unknown strategy {request.strategy!r}; known: {', '.join(STRATEGIES)}")
        cursor = request.cursor
        window = cursor_window(cursor, request.window_budget, self.counter)
        occupied = Occupied()
        occupied.add(cursor.path, window.start_line, window.end_line)
        timings: dict[str, float] = {}
        skipped: list[str] = []

        if request.strategy == "default":
            rankings: dict[str, list[Candidate]] = {}
            for name, source in self.sources.items():
                started = time.perf_counter()
                deadline = Deadline(request.deadline_ms)
                rankings[name] = source(cursor, deadline)
                timings[name] = (time.perf_counter() - started) * 1000
                if deadline.expired():
                    skipped.append(name)
            ranked = reciprocal_rank_fusion(rankings, SOURCE_WEIGHTS)
        else:
            started = time.perf_counter()
            ranked = BASELINES[request.strategy](self.index, self.files, cursor)
            timings[request.strategy] = (time.perf_counter() - started) * 1000

        started = time.perf_counter()
        items = pack_candidates(ranked, request.budget, self.files, self.counter, occupied)
        timings["packing"] = (time.perf_counter() - started) * 1000
        return Pack(
            budget=request.budget,
            items=items,
            window=window,
            strategy=request.strategy,
            timings_ms=timings,
            skipped_sources=skipped,
            exact_tokens=self.counter.exact,
        )
