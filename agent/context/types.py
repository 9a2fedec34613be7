"""The data of context packing: what is asked (a cursor and a budget) and what comes back (a pack)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Cursor:
    """A position in an editor buffer. ``line`` and ``col`` are 1-based; ``col`` counts characters."""

    path: str  # relative to the workspace root, POSIX separators
    line: int
    col: int
    text: str  # the buffer: unsaved text wins over the disk copy

    @cached_property
    def lines(self) -> list[str]:
        """The buffer's lines, split once per cursor (a pack asks several times); shared, so
        read it, never modify it."""
        return self.text.split("\n")

    @property
    def line_prefix(self) -> str:
        lines = self.lines
        return lines[self.line - 1][: self.col - 1] if 0 < self.line <= len(lines) else ""


@dataclass(frozen=True)
class Edit:
    """A recent change the user made: where, and when (monotonic seconds)."""

    path: str
    line: int
    at: float = 0.0


@dataclass(frozen=True)
class PackRequest:
    cursor: Cursor
    budget: int  # tokens for the packed context, the cursor's own window not included
    strategy: str = "default"
    recent_edits: tuple[Edit, ...] = ()
    open_files: tuple[str, ...] = ()
    window_budget: int = 1024  # tokens of the cursor's file around the cursor (prefix + suffix)
    deadline_ms: float | None = None  # per source; None waits for every source (CLI, evaluation)


@dataclass(frozen=True)
class Candidate:
    """A span a source proposes, before fusion and packing."""

    path: str
    start_line: int
    end_line: int
    reason: str
    source: str
    # a larger span covering this one, to upgrade to when the budget allows (a header's whole body)
    full_end_line: int | None = None
    full_start_line: int | None = None
    pinned: bool = False  # certain enough to precede fusion (the expression at the cursor)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.start_line, self.end_line)


@dataclass(frozen=True)
class PackItem:
    path: str
    start_line: int
    end_line: int
    tokens: int
    reason: str
    text: str
    stable: bool = False  # part of the cursor-independent prefix

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "tokens": self.tokens,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CursorWindow:
    """The cursor's own file around the cursor: the FIM prefix and suffix, never repeated as items."""

    path: str
    start_line: int
    end_line: int
    prefix: str
    suffix: str
    count: Callable[[str], int] = field(repr=False, compare=False)  # the backend's token counter

    @cached_property
    def tokens(self) -> int:
        """Counted when asked (reports), not at every keystroke: the prefix is a few thousand
        characters of new text each time, the costliest count of a pack."""
        return self.count(self.prefix) + self.count(self.suffix)


@dataclass
class Pack:
    budget: int
    items: list[PackItem]
    window: CursorWindow
    strategy: str = "default"
    mode: str = "ranked"  # "ranked" | "whole-repo"
    timings_ms: dict[str, float] = field(default_factory=dict)
    skipped_sources: list[str] = field(default_factory=list)  # past their deadline or not ready yet
    exact_tokens: bool = True

    @property
    def tokens(self) -> int:
        return sum(item.tokens for item in self.items)

    @property
    def stable_items(self) -> list[PackItem]:
        return [item for item in self.items if item.stable]

    def to_json(self) -> dict[str, object]:
        return {
            "budget": self.budget,
            "tokens": self.tokens,
            "items": [item.to_json() for item in self.items],
            "strategy": self.strategy,
            "mode": self.mode,
            "window": {
                "path": self.window.path,
                "start_line": self.window.start_line,
                "end_line": self.window.end_line,
                "tokens": self.window.tokens,
            },
            "stable_tokens": sum(item.tokens for item in self.stable_items),
            "exact_tokens": self.exact_tokens,
            "skipped_sources": self.skipped_sources,
            "timings_ms": {name: round(ms, 2) for name, ms in self.timings_ms.items()},
        }
