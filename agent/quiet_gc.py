"""Full garbage collections kept off the keystroke path.

A warm server holds millions of container objects in its caches (index answers, token counts,
file lines), and CPython's full collection walks every tracked one: 80-90 ms with the standard
library open, charged to whichever keystroke allocates the object that tips the count.
``settle()`` collects and then freezes what survives (``gc.freeze``: never walked again, and
freed by reference counting as usual), so a collection while typing walks only what was made
since. The server settles once its caches are warm and again whenever the editor has been quiet
for ``QUIET_S``; each settle unfreezes first, so garbage cycles frozen the time before are found.
``configure_gc()`` makes young collections rarer, for the same reason at a smaller scale.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

QUIET_S = 2.0  # no message from the editor for this long: the user is reading, not typing
YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


@dataclass(frozen=True)
class Settled:
    seconds: float  # the full collection's pause, taken while nobody waits
    frozen: int  # objects exempt from collections from now on


def configure_gc() -> None:
    """The collector settings of a server process: young collections about 30 times rarer. A
    keystroke's pack allocates thousands of objects, and every young collection also walks the
    large containers made since (the buffer's lines, per-keystroke maps): 2 ms each, one or two
    per keystroke, at the default threshold."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle() -> Settled:
    """Collect everything, then freeze the survivors."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return Settled(time.perf_counter() - started, gc.get_freeze_count())


class QuietCollector:
    """Settles once the editor has been quiet for ``quiet_s`` after work was done."""

    def __init__(self, quiet_s: float = QUIET_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.quiet_s = quiet_s
        self._clock = clock
        self._last_work = clock()
        self._pending = False
        self.settles = 0
        self.last: Settled | None = None

    def worked(self) -> None:
        """A message arrived or a job finished: objects were made, and the user may be typing."""
        self._last_work = self._clock()
        self._pending = True

    def settle_if_quiet(self) -> Settled | None:
        if not self._pending or self._clock() - self._last_work < self.quiet_s:
            return None
        self._pending = False
        self.last = settle()
        self.settles += 1
        return self.last
