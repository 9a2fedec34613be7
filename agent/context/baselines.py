"""The reference strategies wholerepo is measured against (../shared/eval/README.md).

- ``bm25``: BM25 over 20-line windows (stride 10) of every other file; the query is the 20 lines
  above the cursor.
- ``jaccard``: RepoCoder's retrieval: Jaccard similarity of token sets, same windows and query.
- ``imports``: whole files the cursor's file imports, in import order.

They share the packer's budget and overlap rules, so the comparison is about ranking only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

from indexer import Index

from .sources.files import FileLines
from .types import Candidate, Cursor

WINDOW_LINES = 20
WINDOW_STRIDE = 10
QUERY_LINES = 20
BM25_K1 = 1.5
BM25_B = 0.75
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokens_of(text: str) -> list[str]:
    return [token.lower() for token in _TOKEN.findall(text)]


def _windows(index: Index, files: FileLines, cursor: Cursor) -> list[tuple[str, int, int, list[str]]]:
    windows = []
    for path in index.store.paths():
        if path == cursor.path:
            continue
        lines = files.lines(path) or []
        for start in range(0, max(len(lines) - WINDOW_LINES, 0) + 1, WINDOW_STRIDE):
            chunk = lines[start : start + WINDOW_LINES]
            if chunk:
                windows.append((path, start + 1, start + len(chunk), tokens_of("\n".join(chunk))))
    return windows


def _query(cursor: Cursor) -> list[str]:
    lines = cursor.lines[max(0, cursor.line - 1 - QUERY_LINES) : cursor.line - 1] + [cursor.line_prefix]
    return tokens_of("\n".join(lines))


def bm25_windows(index: Index, files: FileLines, cursor: Cursor) -> list[Candidate]:
    windows = _windows(index, files, cursor)
    if not windows:
        return []
    query = set(_query(cursor))
    document_frequency: Counter[str] = Counter()
    for *_, terms in windows:
        document_frequency.update(set(terms) & query)
    average_length = sum(len(terms) for *_, terms in windows) / len(windows)
    total = len(windows)
    scored = []
    for position, (path, start, end, terms) in enumerate(windows):
        counts = Counter(terms)
        score = 0.0
        for term in query:
            frequency = counts.get(term, 0)
            if not frequency:
                continue
            idf = math.log(1 + (total - document_frequency[term] + 0.5) / (document_frequency[term] + 0.5))
            norm = frequency + BM25_K1 * (1 - BM25_B + BM25_B * len(terms) / average_length)
            score += idf * frequency * (BM25_K1 + 1) / norm
        if score > 0:
            scored.append((-score, position, path, start, end))
    scored.sort()
    return [Candidate(path, start, end, f"bm25 {-score:.2f}", "bm25") for score, _, path, start, end in scored]


def jaccard_windows(index: Index, files: FileLines, cursor: Cursor) -> list[Candidate]:
    query = set(_query(cursor))
    scored = []
    for position, (path, start, end, terms) in enumerate(_windows(index, files, cursor)):
        window = set(terms)
        union = len(query | window)
        similarity = len(query & window) / union if union else 0.0
        if similarity > 0:
            scored.append((-similarity, position, path, start, end))
    scored.sort()
    return [Candidate(path, start, end, f"jaccard {-s:.3f}", "jaccard") for s, _, path, start, end in scored]


def imported_files(index: Index, files: FileLines, cursor: Cursor) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for row in sorted(index.imports_of(cursor.path), key=lambda row: (row.line, row.id)):
        for target in row.targets:
            if target in seen or target == cursor.path:
                continue
            seen.add(target)
            lines = files.lines(target) or []
            out.append(Candidate(target, 1, max(len(lines), 1), f"imported at line {row.line}", "imports"))
    return out


BASELINES: dict[str, Callable[[Index, FileLines, Cursor], list[Candidate]]] = {
    "bm25": bm25_windows,
    "jaccard": jaccard_windows,
    "imports": imported_files,
}
