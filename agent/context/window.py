"""The cursor's own window: the lines around the cursor that a FIM prompt carries as prefix/suffix.

Packed items never repeat these lines. Three quarters of the window budget go above the cursor,
where the code that explains the next token usually is.
"""

from __future__ import annotations

from .tokens import TokenCounter
from .types import Cursor, CursorWindow

PREFIX_SHARE = 0.75


def cursor_window(cursor: Cursor, budget: int, counter: TokenCounter) -> CursorWindow:
    lines = cursor.lines
    row = min(max(cursor.line, 1), len(lines))
    current = lines[row - 1]
    column = min(max(cursor.col - 1, 0), len(current))
    prefix_budget = int(budget * PREFIX_SHARE) - counter.count(current[:column])
    suffix_budget = budget - int(budget * PREFIX_SHARE) - counter.count(current[column:])

    start = _grow(lines, row - 1, -1, prefix_budget, counter)  # first line of the window
    end = _grow(lines, row + 1, +1, suffix_budget, counter)  # last line of the window
    prefix = "\n".join(lines[start - 1 : row - 1] + [current[:column]])
    suffix = "\n".join([current[column:]] + lines[row:end])
    tokens = counter.count(prefix) + counter.count(suffix)
    return CursorWindow(cursor.path, start, end, prefix, suffix, tokens)


def _grow(lines: list[str], first: int, step: int, budget: int, counter: TokenCounter) -> int:
    """Walk from 1-based line ``first`` in direction ``step`` while the lines fit the budget;
    return the last line taken (``first - step`` when none fits)."""
    taken = first - step
    line = first
    while 1 <= line <= len(lines) and budget > 0:
        cost = counter.count(lines[line - 1] + "\n")
        if cost > budget:
            break
        budget -= cost
        taken = line
        line += step
    return taken
