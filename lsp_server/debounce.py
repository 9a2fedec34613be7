"""Adaptive debounce: wait for the user's typing pause, learned from the gaps between their edits.

A fast typist's next key usually comes within their usual gap, so a request made mid-burst is
likely superseded: wait about that long first. Slow, deliberate edits get answered at once.
"""

from __future__ import annotations

import time

SMOOTHING = 0.3  # weight of the newest gap in the running average
BURST_GAP_S = 1.0  # gaps longer than this are pauses, not typing


class TypingRhythm:
    def __init__(self, min_ms: float = 0.0, max_ms: float = 250.0) -> None:
        self.min_ms, self.max_ms = min_ms, max_ms
        self.average_gap_s: float | None = None
        self._last: float | None = None

    def keystroke(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._last is not None and (gap := now - self._last) < BURST_GAP_S:
            previous = self.average_gap_s
            self.average_gap_s = gap if previous is None else previous + SMOOTHING * (gap - previous)
        self._last = now

    def delay_s(self, now: float | None = None) -> float:
        """How long to wait before asking the model, given the time since the last keystroke."""
        if self.average_gap_s is None or self._last is None:
            return self.min_ms / 1000
        now = time.monotonic() if now is None else now
        wanted = min(self.max_ms / 1000, max(self.min_ms / 1000, 1.5 * self.average_gap_s))
        return max(0.0, wanted - (now - self._last))
