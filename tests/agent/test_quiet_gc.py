"""The heap is collected and frozen when the editor is quiet, and only then."""

from __future__ import annotations

import gc
import weakref

import pytest

from agent import QuietCollector, configure_gc, settle
from agent.quiet_gc import YOUNG_THRESHOLD


@pytest.fixture(autouse=True)
def unfrozen():
    yield
    gc.unfreeze()  # leave the test process as it was


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_settle_freezes_the_survivors_so_collections_skip_them():
    kept = [[n] for n in range(1000)]  # containers the collector tracks
    settled = settle()
    assert settled.frozen >= len(kept)
    assert settled.seconds >= 0
    walked = {id(x) for x in gc.get_objects()}  # what collections walk: the frozen are not among them
    assert not any(id(x) in walked for x in kept)


def test_a_cycle_frozen_by_one_settle_is_collected_by_the_next():
    a, b = Node(), Node()
    a.other, b.other = b, a
    watch = weakref.ref(a)
    settle()  # the cycle is alive now: frozen
    del a, b
    gc.collect()
    assert watch() is not None  # frozen garbage is not walked...
    settle()
    assert watch() is None  # ...until the next settle unfreezes it


def test_settles_only_after_work_and_a_quiet_spell():
    clock = Clock()
    collector = QuietCollector(quiet_s=2.0, clock=clock)
    clock.now += 10
    assert collector.settle_if_quiet() is None  # nothing happened since it started
    collector.worked()
    clock.now += 1.9
    assert collector.settle_if_quiet() is None  # the user may still be typing
    clock.now += 0.2
    assert collector.settle_if_quiet() is not None
    assert collector.settles == 1 and collector.last is not None
    clock.now += 10
    assert collector.settle_if_quiet() is None  # quiet, but nothing new to settle


def test_the_server_settings_make_young_collections_rarer():
    before = gc.get_threshold()
    try:
        configure_gc()
        young, middle, old = gc.get_threshold()
        assert young == YOUNG_THRESHOLD > before[0] and (middle, old) == before[1:]
    finally:
        gc.set_threshold(*before)
