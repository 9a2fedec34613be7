"""Language-server benchmarks, through a real client (pytest-lsp's, over stdio) against `wholerepo serve`
on a copy of the standard library's json package, with a real OpenAI-compatible HTTP server as the model.

1. Overhead per inline completion, model time excluded: end-to-end latency minus the model's time (the
   stream, as the pipeline timed it) and minus context packing (agent/context's work, reported on its
   own): what is left is the server's part — JSON-RPC, documents, positions, prompt rendering, filters.
   Reference in the same run: the round trip of a trivial command (`wholerepo.status`), the JSON-RPC floor.
2. Typing storm: an edit and an automatic inline completion request every 20 ms (50/s) for 10 s, the model
   taking 150 ms per answer. Every superseded request must be cancelled (its model stream closed), and
   nothing may pile up: requests in flight at the end, and late latencies against early ones.

Results: bench/results/server.json.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from tests.engine.openai_stub_server import Pause, Reply, StubServer, completion_chunk
from tests.lsp_server.server_session import Session, capabilities, start, stop

RESULTS = Path(__file__).parent / "results" / "server.json"
OVERHEAD_REQUESTS = 200
STORM_RATE = 50  # requests per second
STORM_SECONDS = 10
STORM_MODEL_S = 0.15
FILE = "json/__init__.py"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def inline(session, line: int, character: int, automatic: bool) -> t.InlineCompletionParams:
    kind = t.InlineCompletionTriggerKind.Automatic if automatic else t.InlineCompletionTriggerKind.Invoked
    return t.InlineCompletionParams(
        context=t.InlineCompletionContext(trigger_kind=kind),
        text_document=session.doc(FILE),
        position=t.Position(line, character),
    )


async def overhead(session, stub: StubServer, text: str) -> dict:
    lines = text.split("\n")
    line = len(lines) - 1
    reference, measured, packing, whole = [], [], [], []
    for i in range(OVERHEAD_REQUESTS):
        started = time.perf_counter()
        await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
        reference.append((time.perf_counter() - started) * 1000)
        typed = f"x{i} = "
        session.change(FILE, typed, t.Range(t.Position(line, 0), t.Position(line, len(lines[line]))))
        lines[line] = typed
        stub.script("/v1/completions", Reply.sse(completion_chunk(f"value_{i}"), completion_chunk("", "stop")))
        started = time.perf_counter()
        result = await session.client.text_document_inline_completion_async(inline(session, line, len(typed), False))
        elapsed = (time.perf_counter() - started) * 1000
        assert result.items and result.items[0].insert_text == f"value_{i}", result
        status = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
        timings = status["counters"]["last_timings_ms"]
        whole.append(elapsed)
        packing.append(timings["pack"])
        measured.append(elapsed - timings["pack"] - timings["model"])
    p50, ref50 = statistics.median(measured), statistics.median(reference)
    return {
        "requests": OVERHEAD_REQUESTS,
        "end_to_end_p50_ms": round(statistics.median(whole), 2),
        "context_packing_p50_ms": round(statistics.median(packing), 2),
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(measured, 0.95), 2),
        "reference_p50_ms": round(ref50, 2),
        "ratio_to_reference": round(p50 / ref50, 2),
        "goal_p50_ms": 10,
        "meets_goal": p50 <= 10,
    }


async def storm(session, stub: StubServer, text: str, automatic: bool) -> dict:
    lines = text.split("\n")
    line = len(lines) - 1
    total = STORM_RATE * STORM_SECONDS
    for i in range(total):
        reply = Reply.sse(Pause(STORM_MODEL_S), completion_chunk(f"v{i}"), completion_chunk("", "stop"))
        stub.script("/v1/completions", reply)
    streams_before, disconnects_before = len(stub.requests), len(stub.disconnects)
    outcomes: list[tuple[float, str, float]] = []  # (sent at, outcome, latency ms)
    pending = []

    async def one(params, sent: float) -> None:
        try:
            result = await session.client.text_document_inline_completion_async(params)
            outcome = "answered" if result.items else "empty"
        except JsonRpcException as error:
            outcome = "cancelled" if error.code == -32800 else f"error {error.code}"
        outcomes.append((sent, outcome, (time.perf_counter() - sent) * 1000))

    begin = time.perf_counter()
    typed = ""
    for i in range(total):
        target = begin + i / STORM_RATE
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        typed += "abcdefghij"[i % 10]
        if len(typed) > 60:
            typed = typed[-1]
            session.change(FILE, typed, t.Range(t.Position(line, 0), t.Position(line, len(lines[line]))))
        else:
            session.change(FILE, typed[-1], t.Range(t.Position(line, len(typed) - 1), t.Position(line, len(typed) - 1)))
        lines[line] = typed
        pending.append(asyncio.ensure_future(one(inline(session, line, len(typed), automatic), time.perf_counter())))
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - begin
    await asyncio.sleep(0.5)  # let the server see the last hang-ups
    status = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
    counts: dict[str, int] = {}
    for _, outcome, _ in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    streams = len(stub.requests) - streams_before
    closed = len(stub.disconnects) - disconnects_before
    latencies = [latency for _, outcome, latency in sorted(outcomes) if outcome != "cancelled"]
    half = len(outcomes) // 2
    early = [lat for sent, _, lat in sorted(outcomes)[:half]]
    late = [lat for sent, _, lat in sorted(outcomes)[half:]]
    superseded = total - counts.get("answered", 0)  # replaced by a newer keystroke before an answer
    stub._replies["/v1/completions"].clear()  # what the debounce saved the model from
    return {
        "trigger": "automatic (debounced)" if automatic else "invoked (no debounce)",
        "requests": total,
        "seconds": round(elapsed, 2),
        "outcomes": counts,
        "model_streams_started": streams,
        "model_streams_closed_early": closed,
        "superseded": superseded,
        "superseded_cancelled": counts.get("cancelled", 0) + counts.get("empty", 0),
        # cancelled (-32800), or answered empty because the text had moved on; and no model stream left running
        "every_superseded_cancelled": counts.get("cancelled", 0) + counts.get("empty", 0) == superseded
        and streams - closed <= counts.get("answered", 0),
        "inflight_at_end": status["counters"]["inflight"],
        "answered_latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "early_half_p50_ms": round(statistics.median(early), 1),
        "late_half_p50_ms": round(statistics.median(late), 1),
        "queue_growth": status["counters"]["inflight"] > 1
        or statistics.median(late) > 2 * statistics.median(early) + 50,
    }


@asynccontextmanager
async def json_session(model_url: str, folder: str) -> AsyncIterator[Session]:
    """`wholerepo serve` on a copy of the stdlib's json package in ``folder``, indexed, its model at
    ``model_url``; stopped on leaving."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    root = Path(folder) / "workspace"
    shutil.copytree(stdlib / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__"))
    options = {
        "backend": {"kind": "openai", "url": model_url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
        "index_dir": str(Path(folder) / "index"),
        "budgets": {"context_tokens": 4096},
    }
    session = await start(root, options, capabilities("neovim@v0.11.0"))
    try:
        await session.wait_status("index", "ready")
        await session.wait_status("engine", "ready")
        yield session
    finally:
        await stop(session)


async def run_async() -> dict:
    with tempfile.TemporaryDirectory(prefix="wholerepo-server-bench-") as folder:
        async with StubServer() as stub, json_session(stub.url, folder) as session:
            text = (session.root / FILE).read_text(encoding="utf-8") + "\n"
            session.open(FILE, text)
            return {
                "overhead": await overhead(session, stub, text),
                "storm": await storm(session, stub, text, automatic=True),
                "storm_no_debounce": await storm(session, stub, text, automatic=False),
            }


STORM_KEYS = (
    "outcomes",
    "model_streams_started",
    "model_streams_closed_early",
    "superseded",
    "every_superseded_cancelled",
    "inflight_at_end",
    "early_half_p50_ms",
    "late_half_p50_ms",
    "queue_growth",
)


def main() -> None:
    result = asyncio.run(run_async())
    o = result["overhead"]
    print("language server: inline completion overhead (model time excluded)")
    print(f"  {'requests':<28}{o['requests']}")
    print(f"  {'end to end p50 ms':<28}{o['end_to_end_p50_ms']}  (context packing p50 {o['context_packing_p50_ms']})")
    print(f"  {'server overhead p50/p95 ms':<28}{o['p50_ms']} / {o['p95_ms']}  (goal p50 <= {o['goal_p50_ms']} ms)")
    print(f"  {'JSON-RPC floor p50 ms':<28}{o['reference_p50_ms']}  (ratio {o['ratio_to_reference']}x)")
    for s in (result["storm"], result["storm_no_debounce"]):
        print(f"typing storm, {s['trigger']}: {s['requests']} requests at {STORM_RATE}/s")
        for key in STORM_KEYS:
            print(f"  {key:<28}{s[key]}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
