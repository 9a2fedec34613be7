"""Language-server overhead, through a real client (pytest-lsp's, over stdio) against `wholerepo serve`
on a copy of the standard library's json package, with a real OpenAI-compatible HTTP server as the model.

Overhead per inline completion, model time excluded: end-to-end latency minus the model's time (the
stream, as the pipeline timed it) and minus context packing (agent/context's work, reported on its
own): what is left is the server's part — JSON-RPC, documents, positions, prompt rendering, filters.
Reference in the same run: the round trip of a trivial command (`wholerepo.status`), the JSON-RPC floor.
Typing storms, ten thousand edits, memory and queue depth: bench/load_bench.py.

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

from tests.engine.openai_stub_server import Reply, StubServer, completion_chunk
from tests.lsp_server.server_session import Session, serving

RESULTS = Path(__file__).parent / "results" / "server.json"
OVERHEAD_REQUESTS = 200
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


@asynccontextmanager
async def json_session(model_url: str, folder: str) -> AsyncIterator[Session]:
    """`wholerepo serve` on a copy of the stdlib's json package in ``folder``, indexed, its model at
    ``model_url``; stopped on leaving."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    root = Path(folder) / "workspace"
    shutil.copytree(stdlib / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__"))
    options = {
        "backend": {"kind": "openai", "url": model_url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
        "budgets": {"context_tokens": 4096},
    }
    async with serving(root, Path(folder) / "index", options) as session:
        yield session


async def run_async() -> dict:
    with tempfile.TemporaryDirectory(prefix="wholerepo-server-bench-") as folder:
        async with StubServer() as stub, json_session(stub.url, folder) as session:
            text = (session.root / FILE).read_text(encoding="utf-8") + "\n"
            session.open(FILE, text)
            return {"overhead": await overhead(session, stub, text)}


def main() -> None:
    result = asyncio.run(run_async())
    o = result["overhead"]
    print("language server: inline completion overhead (model time excluded)")
    print(f"  {'requests':<28}{o['requests']}")
    print(f"  {'end to end p50 ms':<28}{o['end_to_end_p50_ms']}  (context packing p50 {o['context_packing_p50_ms']})")
    print(f"  {'server overhead p50/p95 ms':<28}{o['p50_ms']} / {o['p95_ms']}  (goal p50 <= {o['goal_p50_ms']} ms)")
    print(f"  {'JSON-RPC floor p50 ms':<28}{o['reference_p50_ms']}  (ratio {o['ratio_to_reference']}x)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
