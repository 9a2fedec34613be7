"""Engine faults end to end: the real server process, its model a real HTTP server on 127.0.0.1 that
misbehaves on command (tests/engine/fault_server.py). For every fault the inline completion answers
empty once the deadline passes (the model server sees the hang-up before it would have answered), the
status and the log say why in words, completions come back by themselves once the model server is
healthy again, and the server holds no more threads, tasks or connections than before.
"""

from __future__ import annotations

import asyncio
import re

import pytest
import pytest_asyncio
from lsprotocol import types as t

from ..engine.fault_server import FaultServer
from .server_session import serving, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")
DEADLINE_S = 2.0
RECHECK_MAX_S = 0.3
FILE = "faults.py"
LEAK_ALLOWANCE = 2  # threads or tasks: the pool's workers may come and go; growth per fault may not

# fault -> what the status says (a regular expression; {url} is the model server's)
EXPLAINED = {
    "down": r"cannot reach {url}: connection refused",
    "slow": r"timed out after 2 s before any of the answer arrived",
    "stall": r"timed out after 2 s before any of the answer arrived",
    "not_json": r"malformed reply from {url}: not JSON",
    "wrong_shape": r"malformed reply from {url}: no `choices`",
    "bad_sse": r"malformed stream: event data is not JSON",
    "html": r"malformed reply from {url}: no server-sent events in its text/html body",
    "http_500": r"server error 500 from {url}: engine crashed",
    "http_429": r"rate limited by {url}: too many requests",
    "http_503": r"server error 503 from {url}: overloaded",
    "drop": r"{url} closed the connection mid-stream",
}
QUICK = [fault for fault in EXPLAINED if fault not in ("slow", "stall")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def model():
    async with FaultServer() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory, model):
    options = {
        "backend": {
            "kind": "openai",
            "url": model.url,
            "model": "qwen2.5-coder-7b",
            "tokenizer": "estimate",
            "max_retries": 1,
        },
        "budgets": {"context_tokens": 1000, "max_tokens": 16},
        "completion": {"deadline_s": DEADLINE_S, "recheck_first_s": 0.1, "recheck_max_s": RECHECK_MAX_S},
        "debounce": {"max_ms": 0},
    }
    base = tmp_path_factory.mktemp("faults")
    async with serving(write_repo(base / "repo"), base / "index", options) as session:
        session.open(FILE, "x = \n")
        yield session


class Typist:
    """Types a new line before each request, so no answer comes from the type-through cache."""

    def __init__(self, session) -> None:
        self.session, self.n = session, 0

    async def complete(self) -> list[t.InlineCompletionItem]:
        self.n += 1
        typed = f"value_{self.n} = "
        self.session.change(FILE, typed + "\n")
        params = t.InlineCompletionParams(
            context=t.InlineCompletionContext(trigger_kind=t.InlineCompletionTriggerKind.Invoked),
            text_document=self.session.doc(FILE),
            position=t.Position(0, len(typed)),
        )
        result = await self.session.client.text_document_inline_completion_async(params)
        return list(result.items)


@pytest.fixture(scope="module")
def typist(session):
    return Typist(session)  # one per session: a line typed twice would be answered from the cache


async def runtime(session) -> dict:
    return await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.runtime"))


async def recovered(session, model: FaultServer, typist: Typist) -> list[t.InlineCompletionItem]:
    """Healthy again: ask until an answer comes (each miss waits a re-check interval); no restart."""
    await model.set("healthy")
    for _ in range(40):
        if items := await typist.complete():
            return items
        await asyncio.sleep(RECHECK_MAX_S / 2)
    raise AssertionError(f"no completion after the model server recovered: {await runtime(session)}")


async def fail_once(session, model: FaultServer, typist: Typist, fault: str) -> list[t.InlineCompletionItem]:
    """One request that reaches the faulty model (waiting out the re-check interval first)."""
    await model.set(fault)
    for _ in range(40):
        health = (await runtime(session))["engine_health"]
        if health["healthy"] or health["retry_in_s"] == 0:
            break
        await asyncio.sleep(health["retry_in_s"])
    items = await typist.complete()
    after = (await runtime(session))["engine_health"]
    assert after["failures"] == health["failures"] + 1, f"the {fault} request never reached the model: {after}"
    return items


def last_engine_status(session) -> dict:
    return next(s["engine"] for s in reversed(session.statuses) if isinstance(s.get("engine"), dict))


@pytest.mark.parametrize("fault", list(EXPLAINED))
async def test_a_fault_answers_empty_says_why_and_recovers_by_itself(session, model, typist, fault):
    assert await recovered(session, model, typist)
    hangups, logged = model.hangups, len(session.client.log_messages)

    items = await fail_once(session, model, typist, fault)

    assert items == []
    if fault in ("slow", "stall"):
        assert model.hangups == hangups + 1  # the server gave up at its deadline, long before the model spoke
    why = re.compile(EXPLAINED[fault].format(url=re.escape(model.url)))
    status = last_engine_status(session)
    assert status["state"] == "failing" and why.search(status["message"]), status
    news = [m.message for m in session.client.log_messages[logged:]]
    assert any("completions paused: " in line and why.search(line) for line in news), news

    back = await recovered(session, model, typist)
    assert [item.insert_text for item in back] == ["value"]
    assert last_engine_status(session)["state"] == "ready"
    assert any("model answering again" in m.message for m in session.client.log_messages[logged:])


async def test_a_stream_that_stalls_mid_answer_keeps_what_arrived_by_the_deadline(session, model, typist):
    assert await recovered(session, model, typist)
    hangups = model.hangups
    items = await fail_once(session, model, typist, "stall_after_text")
    assert [item.insert_text for item in items] == ["par"]
    assert model.hangups == hangups + 1
    assert "timed out after 2 s mid-answer (the stream stalled)" in last_engine_status(session)["message"]
    assert await recovered(session, model, typist)


async def test_while_the_model_fails_requests_skip_it_until_the_recheck(session, model, typist):
    assert await recovered(session, model, typist)
    await fail_once(session, model, typist, "http_500")
    reached = len(model.requests)
    skipped = [await typist.complete() for _ in range(5)]  # at once: the re-check is not due yet
    health = (await runtime(session))["engine_health"]
    assert skipped == [[]] * 5
    assert len(model.requests) - reached <= 1 and health["skipped"] >= 4, health
    assert await recovered(session, model, typist)


async def test_faults_leave_no_threads_tasks_or_connections_behind(session, model, typist):
    assert await recovered(session, model, typist)
    before = await runtime(session)
    faults = [*QUICK, *QUICK, "slow", "stall"]
    for fault in faults:
        assert await fail_once(session, model, typist, fault) == []
    assert await recovered(session, model, typist)
    await asyncio.sleep(0.2)  # the last answer's task finishes after its reply is sent
    after = await runtime(session)
    assert after["threads"] <= before["threads"] + LEAK_ALLOWANCE, (before, after)
    assert after["tasks"] <= before["tasks"] + LEAK_ALLOWANCE, (before, after)
    assert after["inflight"] == 0 and after["counters"]["pending"] == 0, after
    assert model.open_connections <= 2, model.open_connections  # the client's keep-alive pool, nothing more
    assert sum(model.count(fault) for fault in set(faults)) >= len(faults)
