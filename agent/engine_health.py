"""Whether the model answers, and when to ask it again after it did not.

A model server that is down, stalled or answering garbage would otherwise cost every keystroke a full
deadline and pop an error each time. After a failure, completions skip the model (answering nothing at
once) until a re-check is due; the re-check is the next completion itself, let through alone. Waits
double from `first_wait_s` up to `max_wait_s`, so a long outage costs one request per `max_wait_s`,
and the first answer after it brings completions back without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Listener = Callable[["EngineHealth"], None]


class EngineHealth:
    def __init__(
        self, first_wait_s: float = 1.0, max_wait_s: float = 15.0, clock: Callable[[], float] = time.monotonic
    ):
        if first_wait_s < 0 or max_wait_s < first_wait_s:
            raise ValueError(f"re-check waits must satisfy 0 <= first ({first_wait_s}) <= max ({max_wait_s})")
        self.first_wait_s, self.max_wait_s = first_wait_s, max_wait_s
        self.problem: str | None = None  # why the last model call failed; None while it answers
        self.failures = 0  # in a row
        self.skipped = 0  # requests answered without asking the model while it was failing
        self._clock = clock
        self._retry_at = 0.0
        self._probing = False
        self._listeners: list[Listener] = []

    @property
    def healthy(self) -> bool:
        return self.problem is None

    @property
    def retry_in_s(self) -> float:
        """Seconds until the next re-check (0 when healthy or due)."""
        return 0.0 if self.healthy else max(0.0, self._retry_at - self._clock())

    def listen(self, listener: Listener) -> None:
        """Call ``listener(health)`` whenever the model starts failing, fails differently, or recovers."""
        self._listeners.append(listener)

    def allow(self) -> bool:
        """May this request ask the model? While failing: only one re-check at a time, once it is due."""
        if self.healthy:
            return True
        if self._probing or self._clock() < self._retry_at:
            self.skipped += 1
            return False
        self._probing = True
        return True

    def release(self) -> None:
        """The request that was let through ended without a verdict (cancelled): the next one re-checks."""
        self._probing = False

    def succeeded(self) -> None:
        self._probing = False
        self.failures = 0
        if self.problem is not None:
            self.problem = None
            self._notify()

    def failed(self, problem: str) -> None:
        self._probing = False
        self.failures += 1
        wait = min(self.max_wait_s, self.first_wait_s * 2 ** (self.failures - 1))
        self._retry_at = self._clock() + wait
        changed = problem != self.problem
        self.problem = problem
        if changed:
            self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener(self)
