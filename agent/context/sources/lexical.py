"""Source 3: lexical similarity — BM25 over definition-aligned code chunks (SQLite FTS5).

The query is the code just above the cursor and the cursor line itself: what the user is writing
tends to look like code written elsewhere for the same purpose (the same API calls, the same names).
"""

from __future__ import annotations

from indexer import Index

from ..background import BackgroundJobs
from ..deadline import Deadline
from ..generated import is_generated
from ..types import Candidate, Cursor

QUERY_LINES_ABOVE = 15
QUERY_LINES_BELOW = 3
RESULTS = 40
INLINE_SYNC_LIMIT = 16  # stale files synced on the keystroke path; more go to a background job


class NotReady(Exception):
    """The source's data is being prepared in the background; skip it this time."""


class LexicalSource:
    name = "lexical"

    def __init__(self, index: Index, jobs: BackgroundJobs) -> None:
        self.index = index
        self.jobs = jobs

    def candidates(self, cursor: Cursor, deadline: Deadline) -> list[Candidate]:
        stale = self.index.stale_chunk_count()
        if stale > INLINE_SYNC_LIMIT and deadline.limited:
            self.jobs.start("lexical-chunks", self.index.sync_chunks)
            raise NotReady(f"{stale} files to chunk for lexical search")
        if stale:
            self.index.sync_chunks(should_stop=deadline.expired if deadline.limited else None)
        lines = cursor.lines
        row = cursor.line - 1
        query = "\n".join(
            lines[max(0, row - QUERY_LINES_ABOVE) : row]
            + [cursor.line_prefix]
            + lines[row + 1 : row + 1 + QUERY_LINES_BELOW]
        )
        hits = self.index.search_code(query, RESULTS * 2, exclude_path=cursor.path)
        hits = [hit for hit in hits if not is_generated(hit[0])][:RESULTS]  # built copies repeat the sources
        return [
            Candidate(path, start, end, f"similar code (BM25 {score:.1f})", self.name)
            for path, start, end, score in hits
        ]
