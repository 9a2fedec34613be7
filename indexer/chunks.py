"""Code chunks for lexical search: definition-aligned spans and the terms FTS5 indexes for them.

A chunk is a leaf definition (a function, a method, a class without members), or a run of lines
no leaf covers (module code, a class's header and fields), split so none exceeds MAX_CHUNK_LINES.
Aligned chunks make a lexical hit a whole definition, not half of one and half of the next.

Terms are identifiers plus their sub-words (`getUserName` and `get_user_name` both also give
`get`, `user`, `name`), so a query spelled one way finds code spelled the other.
"""

from __future__ import annotations

import re

from .model import Definition

MAX_CHUNK_LINES = 40
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBWORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def chunk_spans(definitions: list[Definition], line_count: int) -> list[tuple[int, int]]:
    """Non-overlapping 1-based inclusive spans covering every non-blank region worth searching."""
    parents = {d.parent for d in definitions}
    covered = [False] * (line_count + 2)
    spans: list[tuple[int, int]] = []
    for index, d in enumerate(definitions):
        if index in parents:
            continue
        start, end = max(d.start_line, 1), min(d.end_line, line_count)
        if any(covered[start : end + 1]):  # a leaf nested in another leaf's lines (a lambda in a def)
            continue
        for line in range(start, end + 1):
            covered[line] = True
        spans.extend(_split(start, end))
    line = 1
    while line <= line_count:
        if covered[line]:
            line += 1
            continue
        run_start = line
        while line <= line_count and not covered[line]:
            line += 1
        spans.extend(_split(run_start, line - 1))
    return sorted(spans)


def _split(start: int, end: int) -> list[tuple[int, int]]:
    return [(s, min(s + MAX_CHUNK_LINES - 1, end)) for s in range(start, end + 1, MAX_CHUNK_LINES)]


def search_terms(text: str) -> str:
    """The space-separated terms of a chunk or a query: identifiers lower-cased, with sub-words."""
    terms: list[str] = []
    for identifier in _IDENTIFIER.findall(text):
        lowered = identifier.lower()
        terms.append(lowered)
        parts = _SUBWORD.findall(identifier)
        if len(parts) > 1:
            terms.extend(part.lower() for part in parts)
    return " ".join(terms)


def file_chunks(definitions: list[Definition], lines: list[str]) -> list[tuple[int, int, str]]:
    """(start_line, end_line, terms) of a file's chunks, blank ones left out."""
    chunks = []
    for start, end in chunk_spans(definitions, len(lines)):
        terms = search_terms("\n".join(lines[start - 1 : end]))
        if terms:
            chunks.append((start, end, terms))
    return chunks
