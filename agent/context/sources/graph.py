"""Source 2: the import neighbourhood, ranked by a personalised PageRank over symbol references.

Seeded at the cursor's file (and open and recently edited files), it surfaces the definitions the
cursor's neighbourhood leans on most — useful when the line being typed names nothing yet.
"""

from __future__ import annotations

import threading

from indexer import Index

from ..background import BackgroundJobs
from ..deadline import Deadline
from ..generated import is_generated
from ..graph import ReferenceGraph, build_graph, personalised_pagerank, rank_definitions
from ..spans import header_end
from ..types import Candidate, Cursor
from .files import FileLines
from .lexical import NotReady

RESULTS = 60
CURSOR_SEED = 1.0
CONTEXT_SEED = 0.3  # open files and recently edited ones


class GraphSource:
    name = "graph"

    def __init__(self, index: Index, files: FileLines, jobs: BackgroundJobs) -> None:
        self.index = index
        self.files = files
        self.jobs = jobs
        self._graph: ReferenceGraph | None = None
        self._lock = threading.Lock()

    def refresh(self) -> ReferenceGraph:
        generation = self.index.generation
        graph = build_graph(self.index.reference_edges(), generation)
        with self._lock:
            self._graph = graph
        return graph

    def _current(self, deadline: Deadline) -> ReferenceGraph:
        graph = self._graph
        if graph is None and not deadline.limited:
            return self.refresh()
        if graph is None or graph.generation != self.index.generation:
            self.jobs.start("reference-graph", self.refresh)  # a slightly stale graph still ranks well
        if graph is None:
            raise NotReady("the reference graph is being built")
        return graph

    def candidates(self, cursor: Cursor, deadline: Deadline, context_files: tuple[str, ...] = ()) -> list[Candidate]:
        graph = self._current(deadline)
        seeds = {path: CONTEXT_SEED for path in context_files}
        seeds[cursor.path] = CURSOR_SEED
        rank = personalised_pagerank(graph, seeds)
        out = []
        for path, name, score in rank_definitions(graph, rank, RESULTS, exclude=cursor.path):
            if deadline.expired():
                break
            lines = self.files.lines(path)
            if lines is None or is_generated(path):
                continue
            for stored in self.index.store.definitions_named(name, path):
                d = stored.definition
                if d.parent != -1:
                    continue
                end = header_end(lines, d)
                reason = f"{d.kind} {d.qualified_name}: central to this file's neighbourhood (PageRank {score:.4f})"
                out.append(
                    Candidate(
                        path,
                        d.start_line,
                        end,
                        reason,
                        self.name,
                        full_end_line=d.end_line if end < d.end_line else None,
                    )
                )
        return out
