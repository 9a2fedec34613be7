"""A per-source time limit, checked cooperatively so a slow source returns what it has so far."""

from __future__ import annotations

import time


class Deadline:
    def __init__(self, milliseconds: float | None) -> None:
        self._ends = None if milliseconds is None else time.perf_counter() + milliseconds / 1000

    @property
    def limited(self) -> bool:
        return self._ends is not None

    def expired(self) -> bool:
        return self._ends is not None and time.perf_counter() > self._ends

    @classmethod
    def never(cls) -> Deadline:
        return cls(None)
