"""Plain data the indexer produces and answers with.

Everything here is picklable and cheap to build, because workers of the cold-index process pool
send these back to the parent process.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass(slots=True, unsafe_hash=True)
class Definition:
    """A named definition: function, class, method, variable, type, module-level constant...

    Lines are 1-based and inclusive; ``start_line`` includes decorators and attributes.
    ``parent`` is the index (within the same file) of the enclosing definition, or -1.
    Treated as immutable (hashable by value), but not ``frozen``: a frozen dataclass's ``__init__``
    sets each field through ``object.__setattr__``, five times the cost, and indexing builds one
    per definition (86,000 for the standard library).
    """

    name: str
    qualified_name: str
    kind: str
    start_line: int
    end_line: int
    name_line: int
    name_col: int
    signature: str = ""
    doc: str = ""
    parent: int = -1


@dataclass(frozen=True, slots=True)
class ImportedName:
    """One name brought in by an import: ``from m import name as alias``; ``name == "*"`` for star."""

    name: str
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement as written in the source, before resolution.

    ``module`` is the spelling of the imported module in the source language: ``os.path``,
    ``..utils`` (Python relative), ``./lib/x`` (JS/TS), ``github.com/a/b`` (Go),
    ``crate::a::b`` (Rust), ``java.util.List`` (Java), ``"x.h"`` or ``<x.h>`` (C/C++).
    ``names`` is empty for a whole-module import (``import m``, ``import m as alias``).
    ``reexport`` marks imports that are also exports (``export * from``, Rust ``pub use``).
    """

    module: str
    line: int
    names: tuple[ImportedName, ...] = ()
    alias: str | None = None
    reexport: bool = False


@dataclass(slots=True)
class ParsedFile:
    """What extraction yields for one file.

    ``references`` maps an identifier to a flat list of ``(line, col)`` pairs (1-based line,
    0-based UTF-8 byte column); the flat layout packs straight into an ``array('i')`` for storage.
    """

    language: str
    line_count: int
    definitions: list[Definition] = field(default_factory=list)
    references: dict[str, list[int]] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    exports: tuple[str, ...] | None = None  # e.g. Python ``__all__``; None when not declared
    error_count: int = 0


def innermost_definition(spans: list[tuple[int, int, int]], line: int) -> int:
    """The index of the innermost definition spanning ``line``, or -1.

    ``spans`` are ``(start_line, end_line, index)`` sorted by start line. Definitions nest, so
    among those that started by ``line`` the latest-starting one that has not ended is innermost.
    """
    position = bisect_right(spans, (line, 1 << 62, 1 << 62))
    while position > 0:
        position -= 1
        _, end, index = spans[position]
        if end >= line:
            return index
    return -1
