"""The re-check schedule behind engine-fault recovery (agent/engine_health.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from agent.engine_health import EngineHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_a_healthy_model_is_always_asked(clock):
    health = EngineHealth(1.0, 8.0, clock)
    assert all(health.allow() for _ in range(5)) and health.skipped == 0


def test_after_a_failure_requests_skip_the_model_until_one_recheck_is_due(clock):
    health = EngineHealth(1.0, 8.0, clock)
    health.failed("server error 500")
    assert not health.allow() and health.retry_in_s == pytest.approx(1.0)
    clock.now += 1.0
    assert health.allow()  # the re-check
    assert not health.allow()  # only one at a time
    assert health.skipped == 2


def test_waits_double_per_failure_in_a_row_up_to_the_cap(clock):
    health = EngineHealth(1.0, 8.0, clock)
    waits = []
    for _ in range(6):
        health.failed("cannot reach")
        waits.append(health.retry_in_s)
        clock.now += waits[-1]
        assert health.allow()
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_listeners_hear_the_change_once_and_the_recovery(clock):
    health = EngineHealth(1.0, 8.0, clock)
    heard = []
    health.listen(lambda h: heard.append(h.problem))
    health.failed("timed out after 5 s")
    health.failed("timed out after 5 s")  # the same news is not news
    health.failed("server error 503")
    health.succeeded()
    health.succeeded()
    assert heard == ["timed out after 5 s", "server error 503", None]
    assert health.healthy and health.failures == 0 and health.allow()


def test_a_cancelled_recheck_lets_the_next_request_recheck(clock):
    health = EngineHealth(1.0, 8.0, clock)
    health.failed("stalled")
    clock.now += 1.0
    assert health.allow()
    health.release()  # superseded by a newer keystroke: no verdict
    assert health.allow() and not health.healthy


def test_impossible_waits_are_refused():
    with pytest.raises(ValueError, match="re-check waits"):
        EngineHealth(5.0, 1.0)
