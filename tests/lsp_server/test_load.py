"""A short version of bench/load_bench.py through the real client and server: a typing storm over three
documents and a thousand incremental edits. Invariants only, never timings: no request fails, every
request not answered was cancelled or answered empty and no model stream was left running, the server's
queue stays bounded, nothing is left in flight, and the server's text equals the client's after all
edits."""

from __future__ import annotations

import pytest
import pytest_asyncio

from bench.load_bench import RATE, Buffer, edit_storm, runtime, storm

from ..engine.fault_server import FaultServer
from .server_session import serving, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")
FILES = ("main.py", "report.py", "shapes.py")
STORM_S = 2.0
PENDING_BOUND = 4 * len(FILES)  # per document one live request and a few cancelled ones finishing; not per request
LEAK_ALLOWANCE = 2


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def model():
    async with FaultServer(latency_s=0.15) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory, model):
    options = {
        "backend": {"kind": "openai", "url": model.url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
        "budgets": {"context_tokens": 1000, "max_tokens": 16},
    }
    base = tmp_path_factory.mktemp("load")
    async with serving(write_repo(base / "repo"), base / "index", options) as session:
        yield session


@pytest.fixture(scope="module")
def buffers(session):
    return [Buffer(session, rel, session.open(rel), seed=n) for n, rel in enumerate(FILES)]


@pytest.mark.parametrize("automatic", [True, False], ids=["debounced", "invoked"])
async def test_a_typing_storm_cancels_every_superseded_request_and_queues_nothing(session, model, buffers, automatic):
    before = await runtime(session)
    result = await storm(session, model, buffers, STORM_S, automatic)
    after = await runtime(session)

    assert result.requests == int(RATE * STORM_S)
    assert set(result.outcomes) <= {"answered", "empty", "cancelled"}, result.outcomes  # no errors
    assert result.outcomes.get("cancelled", 0) > 0  # three documents typed into every 60 ms: superseding happens
    assert result.every_superseded_cancelled, result
    assert result.max_pending <= PENDING_BOUND < result.requests, result
    assert result.inflight_at_end == 0 and result.pending_at_end == 0, result
    assert model.answering == 0  # no model stream left open
    assert after["threads"] <= before["threads"] + LEAK_ALLOWANCE, (before, after)
    assert after["tasks"] <= before["tasks"] + LEAK_ALLOWANCE, (before, after)


async def test_a_thousand_incremental_edits_leave_the_servers_text_equal_to_the_clients(session, buffers):
    buffer = buffers[1]  # report.py: non-ASCII on its lines already, so positions cross encodings
    original = buffer.text
    result = await edit_storm(session, buffer, 1000)
    assert result["text_matches"], result
    assert buffer.text != original and result["version"] == session.versions[buffer.rel]
    assert any(ord(ch) > 0xFFFF for ch in buffer.text)  # the edits put astral characters in: UTF-16 pairs
    held = (await runtime(session))["handler_futures"]
    assert held <= LEAK_ALLOWANCE + 1, held  # pygls would keep two futures per didChange for good
