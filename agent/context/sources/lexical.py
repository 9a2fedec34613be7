"""Source 3: lexical similarity — BM25 over definition-aligned code chunks (SQLite FTS5).

The query is the code just above the cursor and the cursor line itself: what the user is writing
tends to look like code written elsewhere for the same purpose (the same API calls, the same names).
Hits for a query are remembered until a file other than the cursor's changes (the cursor's own
file is never a hit); BM25's corpus statistics may then lag the cursor file's latest keystrokes,
a small price for not searching the whole corpus again on every keystroke. The first query at a
state of the chunk table is one FTS5 OR query; a later new query (a word finished) is scored from
per-term postings kept for that state (postings.py), so only its new terms are asked of SQLite.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from indexer import Index, QueryInterrupted
from indexer.chunks import search_terms
from indexer.index import MAX_QUERY_TERMS

from ..background import BackgroundJobs
from ..deadline import Deadline
from ..generated import is_generated
from ..types import Candidate, Cursor
from .postings import TermPostings

QUERY_LINES_ABOVE = 15
QUERY_LINES_BELOW = 3
RESULTS = 40
INLINE_SYNC_LIMIT = 16  # stale files synced on the keystroke path; more go to a background job
KEPT_RESULTS = 64
_PARTIAL_WORD = re.compile(r"[\w$]+$")


class NotReady(Exception):
    """The source's data is being prepared in the background; skip it this time."""


class LexicalSource:
    name = "lexical"

    def __init__(self, index: Index, jobs: BackgroundJobs) -> None:
        self.index = index
        self.jobs = jobs
        self._results: OrderedDict[tuple, list[Candidate]] = OrderedDict()
        self._latest: dict[str, list[Candidate]] = {}  # per cursor file: the last hits found in time
        self._all_current_at: int | None = None  # the index generation at which every chunk was current
        # (path, the generation but for that path): every chunk but that path's was current then
        self._others_current_at: tuple[str, int] | None = None
        self.postings = TermPostings(index)
        self._table_at: tuple[tuple, tuple] | None = None  # (what was written, the chunk table's state)
        self._searched_at: tuple | None = None  # the chunk table's state at the last search
        self._unsettled = 0  # searches made while chunks were stale: their postings are not kept

    def candidates(self, cursor: Cursor, deadline: Deadline) -> list[Candidate]:
        stale = self._stale(cursor, deadline)
        query = lexical_query(cursor)
        # The cursor's own file is never a hit, so hits change only when another file does.
        key = (query, cursor.path, self.index.generation_excluding(cursor.path))
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key]
        terms = list(dict.fromkeys(search_terms(query).split()))[:MAX_QUERY_TERMS]
        table = self._table(cursor)
        should_stop = deadline.expired if deadline.limited else None
        try:
            if self._searched_at != table:  # the first search here: one OR query costs less than every term's postings
                self._searched_at = table
                hits = self.index.search_code(query, RESULTS * 2, exclude_path=cursor.path, should_stop=should_stop)
                hits.sort(key=lambda hit: (-hit[3], hit[0], hit[1]))  # ties as the postings order them
            else:
                hits = self.postings.search(terms, table, RESULTS * 2, cursor.path, should_stop=should_stop)
        except QueryInterrupted:
            # out of time: the terms still missing are fetched in the background (the next keystrokes
            # find them kept), and the hits of this file's last query (nearly the same words) stand in
            self.jobs.start("lexical-postings", lambda: self.postings.fetch(terms, table))
            return self._latest.get(cursor.path, [])
        hits = [hit for hit in hits if not is_generated(hit[0])][:RESULTS]  # built copies repeat the sources
        found = [
            Candidate(path, start, end, f"similar code (BM25 {score:.1f})", self.name)
            for path, start, end, score in hits
        ]
        self._latest[cursor.path] = found
        if stale:
            self._unsettled += 1  # the chunk table is still changing: these postings are not kept
        else:
            self._results[key] = found
            while len(self._results) > KEPT_RESULTS:
                self._results.popitem(last=False)
        return found

    def _stale(self, cursor: Cursor, deadline: Deadline) -> int:
        """Bring the chunks of other files up to date (inline when few changed); how many are still
        stale. The cursor's own file is never a hit, so its chunks are left for later rather than
        rewritten on every keystroke."""
        generation = self.index.generation
        if self._all_current_at == generation:
            return 0
        others_written = (cursor.path, self.index.generation_excluding(cursor.path))
        if self._others_current_at == others_written:
            return 0  # every write since the others were found current was to the cursor's file
        stale_paths = [path for path, _ in self.index.store.stale_chunk_files()]
        others = [path for path in stale_paths if path != cursor.path]
        if not others:
            if not stale_paths:
                self._all_current_at = generation
            self._others_current_at = others_written
            return 0
        if len(others) > INLINE_SYNC_LIMIT and deadline.limited:
            self.jobs.start("lexical-chunks", self.index.sync_chunks)
            raise NotReady(f"{len(others)} files to chunk for lexical search")
        stale = self.index.sync_chunks(should_stop=deadline.expired if deadline.limited else None)
        if not stale:
            self._all_current_at = generation
        return stale

    def _table(self, cursor: Cursor) -> tuple:
        """The state of the chunk table, which every term's BM25 scores depend on. Chunks change
        only when synced (the index counts its syncs) or when a file is deleted; writing a file
        leaves its chunks alone (they go stale). So the set of paths is read again only after a
        file other than the cursor's was written: switching files, or closing a buffer, keeps every
        term's postings."""
        written = (self.index.generation_excluding(cursor.path), cursor.path)
        syncs = (self.index.chunk_syncs, self._unsettled)
        if self._table_at is None or self._table_at[0] != written or self._table_at[1][0] != syncs:
            self._table_at = (written, (syncs, hash(frozenset(self.index.store.paths()))))
        return self._table_at[1]


def lexical_query(cursor: Cursor) -> str:
    """The lines around the cursor, without the word being typed: a half-typed word matches
    nothing useful, and leaving it out keeps the query (and its hits) the same while it grows."""
    lines = cursor.lines
    row = cursor.line - 1
    typed = _PARTIAL_WORD.sub("", cursor.line_prefix)
    return "\n".join(
        lines[max(0, row - QUERY_LINES_ABOVE) : row] + [typed] + lines[row + 1 : row + 1 + QUERY_LINES_BELOW]
    )
