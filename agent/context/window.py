"""The cursor's own window: the lines around the cursor that a FIM prompt carries as prefix/suffix.

Packed items never repeat these lines. Most of the window budget goes above the cursor, where the
code that explains the next token usually is; the suffix is kept short because in a
fill-in-the-middle prompt everything after the cursor changes with each keystroke, and so is lost
to a serving engine's prefix cache. The first line of the window moves in steps of LINE_STEP
lines, so that typing on one line does not shift the start of the prompt's window either.
"""

from __future__ import annotations

from .tokens import TokenCounter
from .types import Cursor, CursorWindow

PREFIX_SHARE = 0.9375
LINE_STEP = 16


def cursor_window(cursor: Cursor, budget: int, counter: TokenCounter) -> CursorWindow:
    lines = cursor.lines
    row = min(max(cursor.line, 1), len(lines))
    current = lines[row - 1]
    column = min(max(cursor.col - 1, 0), len(current))
    prefix_budget = int(budget * PREFIX_SHARE) - counter.count(current[:column])
    suffix_budget = budget - int(budget * PREFIX_SHARE) - counter.count(current[column:])

    start = _on_step(_grow(lines, row - 1, -1, prefix_budget, counter), row)  # first line of the window
    end = _grow(lines, row + 1, +1, suffix_budget, counter)  # last line of the window
    prefix = "\n".join(lines[start - 1 : row - 1] + [current[:column]])
    suffix = "\n".join([current[column:]] + lines[row:end])
    return CursorWindow(cursor.path, start, end, prefix, suffix, counter.count)


def _on_step(start: int, row: int) -> int:
    """The first line at or after ``start`` that is 1 plus a multiple of LINE_STEP (never past ``row``)."""
    stepped = -(-(start - 1) // LINE_STEP) * LINE_STEP + 1
    return min(stepped, row)


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
