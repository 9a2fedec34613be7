"""Source 2: the import neighbourhood, ranked by a personalised PageRank over symbol references.

Seeded at the cursor's file (and open and recently edited files), it surfaces the definitions the
cursor's neighbourhood leans on most — useful when the line being typed names nothing yet.

The graph is a function of the files' contents, so it remembers the content hash of every file it
was built from: when files were written since but hold the same contents again (a buffer closed
unsaved, an edit undone, a save of what the index already had from the buffer), the graph stands
as it is instead of being rebuilt (0.5-0.8 s over the standard library).
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
KEPT_RANKINGS = 64


class GraphSource:
    name = "graph"

    def __init__(self, index: Index, files: FileLines, jobs: BackgroundJobs) -> None:
        self.index = index
        self.files = files
        self.jobs = jobs
        self._graph: ReferenceGraph | None = None
        self._contents: dict[str, tuple[str, int]] = {}  # per path, (hash, flags) the graph was built from
        self._found: dict[tuple, list[Candidate]] = {}
        self._lock = threading.Lock()

    def refresh(self, generation: int | None = None) -> ReferenceGraph:
        generation = self.index.generation if generation is None else generation
        contents = self._file_contents()  # read before the edges: a file written in between reads as changed
        graph = build_graph(self.index.reference_edges(), generation)
        with self._lock:
            self._graph = graph
            self._contents = contents
            self._found.clear()
        return graph

    def _file_contents(self) -> dict[str, tuple[str, int]]:
        return {path: (row.hash, row.flags) for path, row in self.index.store.files().items()}

    def _still_current(self, graph: ReferenceGraph, cursor_path: str) -> bool:
        """Whether every file but the cursor's holds the contents the graph was built from; if so
        the graph is stamped with the current generation (it is what a rebuild would give)."""
        generation = self.index.generation  # read first: a write after it leaves the stamp behind
        with self._lock:
            built_from = self._contents if self._graph is graph else None
        if built_from is None:
            return False
        now = self._file_contents()
        if now.keys() != built_from.keys():
            return False
        if any(now[path] != built_from[path] for path in now if path != cursor_path):
            return False
        with self._lock:
            if self._graph is graph:
                graph.generation = max(graph.generation, generation)
        return True

    def _current(self, cursor_path: str, deadline: Deadline) -> ReferenceGraph:
        """The graph as of the last change to a file other than the cursor's: the references being
        typed right now move the cursor file's own rank little, and rebuilding the graph (every
        reference in the workspace) on each keystroke would cost more than all the rest."""
        wanted = self.index.generation_excluding(cursor_path)
        graph = self._graph
        if graph is not None and graph.generation < wanted and self._still_current(graph, cursor_path):
            return graph
        if (graph is None or graph.generation < wanted) and not deadline.limited:
            return self.refresh(self.index.generation)
        if graph is None or graph.generation < wanted:
            generation = self.index.generation
            self.jobs.start("reference-graph", lambda: self.refresh(generation))  # a stale graph still ranks well
        if graph is None:
            raise NotReady("the reference graph is being built")
        return graph

    def candidates(self, cursor: Cursor, deadline: Deadline, context_files: tuple[str, ...] = ()) -> list[Candidate]:
        """Definitions the neighbourhood leans on; remembered per graph, seeds and the state of
        the other files (the cursor's file and the open files stay the same over many keystrokes)."""
        graph = self._current(cursor.path, deadline)
        seeds = {path: CONTEXT_SEED for path in context_files}
        seeds[cursor.path] = CURSOR_SEED
        key = (cursor.path, *sorted(seeds.items()), self.index.generation_excluding(cursor.path))
        with self._lock:
            found = self._found.get(key) if self._graph is graph else None
        if found is not None:
            return found
        found = self._candidates(graph, seeds, cursor.path, deadline)
        if not deadline.expired():  # a list cut short by the deadline is not the answer
            with self._lock:
                if self._graph is graph:
                    if len(self._found) >= KEPT_RANKINGS:
                        self._found.clear()
                    self._found[key] = found
        return found

    def _candidates(
        self, graph: ReferenceGraph, seeds: dict[str, float], exclude: str, deadline: Deadline
    ) -> list[Candidate]:
        ranked = rank_definitions(graph, personalised_pagerank(graph, seeds), RESULTS, exclude=exclude)
        out = []
        for path, name, score in ranked:
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
