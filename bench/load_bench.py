"""Load on the language server, through a real client (pytest-lsp's, over stdio) against `wholerepo serve`
on a copy of the standard library's json package; the model a real HTTP server on 127.0.0.1
(tests/engine/fault_server.py, healthy) answering after a fixed latency.

1. Overhead per inline completion, model time excluded: end to end minus the pack and the model stream
   as the server timed them. Reference in the same run: the same requests while nothing else happens;
   measured: while the two other documents take 50 edits/s. The ratio is what the edits cost.
2. Typing storms: 50 completion requests/s for 30 s, round robin over three documents, each after an
   edit of its document; the model takes 150 ms. Once automatic (debounced), once invoked (no debounce).
   Every superseded request must be cancelled (-32800, or empty when the debounce saw its text move on)
   and its model stream closed; requests pending in the server (the queue's depth) stay bounded; nothing
   is in flight at the end; the server's memory is read every 5 s.
3. 10,000 incremental didChange events on one document (inserts with line breaks and non-ASCII text,
   deletions across lines) as fast as the client writes them: the server's text must equal the client's.

Memory (RSS), threads and asyncio tasks of the server are read at the start and after each phase.
Results: bench/results/load.json. `python -m bench.load_bench [--seconds S] [--edits N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from tests.engine.fault_server import FaultServer
from tests.lsp_server.server_session import Session

from .server_bench import json_session, percentile

RESULTS = Path(__file__).parent / "results" / "load.json"
FILES = ("json/__init__.py", "json/decoder.py", "json/encoder.py")
RATE = 50  # requests (and edits) per second
MODEL_LATENCY_S = 0.15
OVERHEAD_REQUESTS = 100
STORM_SAMPLE_S = 5.0
# what an edit inserts: plain and non-ASCII text (2- and 4-byte UTF-8, a UTF-16 surrogate pair), line breaks
TYPED = itertools.count()  # each overhead request types a line never typed before: no type-through cache
PIECES = ("x", "ab", "é", "😀", "中文", "\n", "    ", "(", "):\n    return 1\n", "\t", "value = 1\n")


# -- the server's own view -------------------------------------------------------------------------


async def runtime(session: Session, rel: str | None = None) -> dict:
    arguments = [session.uri(rel)] if rel else None  # pygls wants an optional argument left out, not []
    return await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.runtime", arguments))


def resources(report: dict) -> dict:
    mib = 1024 * 1024
    return {"rss_mib": round(report["rss_bytes"] / mib, 1), "threads": report["threads"], "tasks": report["tasks"]}


# -- a document the client edits ---------------------------------------------------------------------


class Buffer:
    """The client's copy of an open document, edited incrementally, with ranges in the wire's encoding."""

    def __init__(self, session: Session, rel: str, text: str, seed: int = 0) -> None:
        self.session, self.rel = session, rel
        self.lines = text.split("\n")
        self.random = random.Random(seed)
        self.limit = 2 * len(text) + 1000  # past this, edits delete more than they insert

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def digest(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def units(self, line: int, column: int) -> int:
        prefix = self.lines[line][:column]
        encoding = self.session.encoding
        if encoding == "utf-8":
            return len(prefix.encode("utf-8"))
        if encoding == "utf-16":
            return len(prefix.encode("utf-16-le")) // 2
        return len(prefix)

    def replace(self, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """Send one incremental change (``start``..``end`` in code points becomes ``text``) and apply it here."""
        (l1, c1), (l2, c2) = start, end
        span = t.Range(t.Position(l1, self.units(l1, c1)), t.Position(l2, self.units(l2, c2)))
        self.session.change(self.rel, text, span)
        self.lines[l1 : l2 + 1] = (self.lines[l1][:c1] + text + self.lines[l2][c2:]).split("\n")

    def random_edit(self) -> None:
        """An insert at a random place, or a deletion of up to a line break; sizes kept in bounds."""
        r, lines = self.random, self.lines
        l1 = r.randrange(len(lines))
        c1 = r.randint(0, len(lines[l1]))
        deleting = r.random() < (0.7 if sum(map(len, lines)) > self.limit else 0.35)
        if not deleting:
            self.replace((l1, c1), (l1, c1), r.choice(PIECES))
            return
        l2 = min(len(lines) - 1, l1 + r.choice((0, 0, 0, 1)))
        c2 = r.randint(c1 if l2 == l1 else 0, min(len(lines[l2]), (c1 if l2 == l1 else 0) + 12))
        self.replace((l1, c1), (l2, c2), "")

    def type_char(self, char: str) -> tuple[int, int]:
        """Type at the end of the last line (a new line once it is long); the cursor after it, on the wire."""
        line = len(self.lines) - 1
        if len(self.lines[line]) >= 60:
            self.replace((line, len(self.lines[line])), (line, len(self.lines[line])), "\n")
            line += 1
        column = len(self.lines[line])
        self.replace((line, column), (line, column), char)
        return line, self.units(line, column + 1)


# -- 1. overhead --------------------------------------------------------------------------------------


async def overhead(session: Session, buffer: Buffer, requests: int) -> list[float]:
    """Milliseconds per invoked completion that are the server's: end to end minus pack and model."""
    measured = []
    for i in range(requests):
        line = len(buffer.lines) - 1
        buffer.replace((line, 0), (line, len(buffer.lines[line])), f"value_{next(TYPED)} = ")
        params = inline(session, buffer.rel, line, buffer.units(line, len(buffer.lines[line])), automatic=False)
        started = time.perf_counter()
        result = await session.client.text_document_inline_completion_async(params)
        elapsed = (time.perf_counter() - started) * 1000
        if not result.items:
            raise RuntimeError(f"overhead request {i} was not answered: {await runtime(session)}")
        timings = (await runtime(session))["counters"]["last_timings_ms"]
        measured.append(elapsed - timings["pack"] - timings["model"])
    return measured


async def keep_typing(buffers: list[Buffer], stop: asyncio.Event) -> int:
    """Edits round robin over ``buffers`` at RATE per second until ``stop``; how many were sent."""
    sent, begin = 0, time.perf_counter()
    while not stop.is_set():
        buffers[sent % len(buffers)].type_char("abcdefghij"[sent % 10])
        sent += 1
        await asyncio.sleep(max(0.0, begin + sent / RATE - time.perf_counter()))
    return sent


def inline(session: Session, rel: str, line: int, character: int, automatic: bool) -> t.InlineCompletionParams:
    kind = t.InlineCompletionTriggerKind.Automatic if automatic else t.InlineCompletionTriggerKind.Invoked
    return t.InlineCompletionParams(
        context=t.InlineCompletionContext(trigger_kind=kind),
        text_document=session.doc(rel),
        position=t.Position(line, character),
    )


# -- 2. the typing storm --------------------------------------------------------------------------------


@dataclass
class Storm:
    trigger: str
    requests: int
    seconds: float
    outcomes: dict[str, int]
    max_outstanding: int  # requests the client had sent and not yet seen answered
    server_superseded: int  # requests the server cancelled for a newer one of the same document
    max_pending: int  # completion requests the server was handling at once, at the most
    model_streams: int
    model_streams_answered: int
    model_streams_closed_early: int
    inflight_at_end: int
    pending_at_end: int
    rss_mib: list[float]  # the server's memory, read every STORM_SAMPLE_S

    @property
    def every_superseded_cancelled(self) -> bool:
        """Every request not answered was cancelled or answered empty; no model stream was left running."""
        unanswered = self.requests - self.outcomes.get("answered", 0)
        return (
            self.outcomes.get("cancelled", 0) + self.outcomes.get("empty", 0) == unanswered
            and self.outcomes.get("cancelled", 0) == self.server_superseded
            and self.model_streams == self.model_streams_answered + self.model_streams_closed_early
        )


async def storm(session: Session, model: FaultServer, buffers: list[Buffer], seconds: float, automatic: bool) -> Storm:
    """RATE requests per second, round robin over the buffers, each after an edit of its buffer.

    Automatic requests wait for the typing pause (debounce); invoked ones go straight to the model."""
    before = await runtime(session)
    rss: list[float] = []
    sampling = asyncio.ensure_future(sample_rss(session, rss))
    streams, answered, hangups = model.count("healthy"), model.answered, model.hangups
    outcomes: dict[str, int] = {}
    outstanding = [0, 0]  # now, at the most

    async def one(params: t.InlineCompletionParams) -> None:
        outstanding[0] += 1
        outstanding[1] = max(outstanding)
        try:
            result = await session.client.text_document_inline_completion_async(params)
            outcome = "answered" if result.items else "empty"
        except JsonRpcException as error:
            outcome = "cancelled" if error.code == -32800 else f"error {error.code}: {error}"
        finally:
            outstanding[0] -= 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    total = int(RATE * seconds)
    pending, begin = [], time.perf_counter()
    for i in range(total):
        await asyncio.sleep(max(0.0, begin + i / RATE - time.perf_counter()))
        buffer = buffers[i % len(buffers)]
        line, character = buffer.type_char("abcdefghij"[(i // len(buffers)) % 10])
        pending.append(asyncio.ensure_future(one(inline(session, buffer.rel, line, character, automatic))))
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - begin
    sampling.cancel()
    for _ in range(50):  # the server sees the last hang-ups a moment after the answers went out
        if model.answering == 0:
            break
        await asyncio.sleep(0.05)
    after = await runtime(session)
    return Storm(
        trigger="automatic (debounced)" if automatic else "invoked (no debounce)",
        requests=total,
        seconds=round(elapsed, 2),
        outcomes=outcomes,
        max_outstanding=outstanding[1],
        server_superseded=after["counters"]["superseded"] - before["counters"]["superseded"],
        max_pending=after["counters"]["max_pending"],
        model_streams=model.count("healthy") - streams,
        model_streams_answered=model.answered - answered,
        model_streams_closed_early=model.hangups - hangups,
        inflight_at_end=after["inflight"],
        pending_at_end=after["counters"]["pending"],
        rss_mib=rss + [resources(after)["rss_mib"]],
    )


async def sample_rss(session: Session, into: list[float]) -> None:
    while True:
        await asyncio.sleep(STORM_SAMPLE_S)
        into.append(resources(await runtime(session))["rss_mib"])


# -- 3. ten thousand edits ------------------------------------------------------------------------------


async def edit_storm(session: Session, buffer: Buffer, edits: int) -> dict:
    """``edits`` random incremental changes as fast as the client writes; then the server's text is compared."""
    begin = time.perf_counter()
    for i in range(edits):
        buffer.random_edit()
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the client's writes go out
    report = await runtime(session, buffer.rel)  # answered after every change before it was applied
    elapsed = time.perf_counter() - begin
    document = report["document"]
    return {
        "edits": edits,
        "seconds": round(elapsed, 2),
        "edits_per_s": round(edits / elapsed),
        "final_chars": len(buffer.text),
        "version": document["version"],
        "text_matches": document["sha256"] == buffer.digest() and document["version"] == session.versions[buffer.rel],
    }


# -- the run --------------------------------------------------------------------------------------------


async def run_async(seconds: float, edits: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="wholerepo-load-bench-") as folder:
        async with FaultServer(latency_s=0.0) as model, json_session(model.url, folder) as session:
            buffers = [Buffer(session, rel, session.open(rel), seed=n) for n, rel in enumerate(FILES)]
            await overhead(session, buffers[2], 5)  # warm: the pool's threads, the packer's caches
            start_report = await runtime(session)
            idle = await overhead(session, buffers[2], OVERHEAD_REQUESTS)
            stop_typing = asyncio.Event()
            typing = asyncio.ensure_future(keep_typing(buffers[:2], stop_typing))
            loaded = await overhead(session, buffers[2], OVERHEAD_REQUESTS)
            stop_typing.set()
            edits_meanwhile = await typing
            model.latency_s = MODEL_LATENCY_S
            stormed = await storm(session, model, buffers, seconds, automatic=True)
            stormed_invoked = await storm(session, model, buffers, seconds, automatic=False)
            after_storm = await runtime(session)
            edited = await edit_storm(session, buffers[0], edits)
            await asyncio.sleep(1.0)  # the last overlay update lands
            end_report = await runtime(session)
    return {
        "overhead": {
            "requests": OVERHEAD_REQUESTS,
            "idle_p50_ms": round(statistics.median(idle), 2),
            "idle_p95_ms": round(percentile(idle, 0.95), 2),
            "under_typing_p50_ms": round(statistics.median(loaded), 2),
            "under_typing_p95_ms": round(percentile(loaded, 0.95), 2),
            "edits_meanwhile": edits_meanwhile,
            "p95_ratio_to_idle": round(percentile(loaded, 0.95) / percentile(idle, 0.95), 2),
        },
        "storms": [
            {**vars(one), "every_superseded_cancelled": one.every_superseded_cancelled}
            for one in (stormed, stormed_invoked)
        ],
        "edits": edited,
        "server": {
            "start": resources(start_report),
            "after_storm": resources(after_storm),
            "end": resources(end_report),
            "rss_growth_mib": round((end_report["rss_bytes"] - start_report["rss_bytes"]) / 1024 / 1024, 1),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the typing storm")
    parser.add_argument("--edits", type=int, default=10_000, help="didChange events on one document")
    args = parser.parse_args(argv)
    result = asyncio.run(run_async(args.seconds, args.edits))
    o, e, m = result["overhead"], result["edits"], result["server"]
    print("language server under load (model time excluded from overhead)")
    print(f"  {'overhead p50/p95 ms, idle':<40}{o['idle_p50_ms']} / {o['idle_p95_ms']}")
    print(f"  {'overhead p50/p95 ms, 50 edits/s':<40}{o['under_typing_p50_ms']} / {o['under_typing_p95_ms']}")
    print(f"  {'p95 ratio to idle':<40}{o['p95_ratio_to_idle']}x")
    for s in result["storms"]:
        print(f"typing storm, {s['trigger']}: {s['requests']} requests at {RATE}/s over {len(FILES)} documents")
        for key in ("outcomes", "server_superseded", "every_superseded_cancelled", "max_pending", "max_outstanding"):
            print(f"  {key:<40}{s[key]}")
        answered, early = s["model_streams_answered"], s["model_streams_closed_early"]
        print(f"  {'model streams':<40}{s['model_streams']} ({answered} answered, {early} closed early)")
        print(f"  {'in flight / pending at end':<40}{s['inflight_at_end']} / {s['pending_at_end']}")
        print(f"  {'server RSS MiB, every 5 s':<40}{s['rss_mib']}")
    print(
        f"edits: {e['edits']} didChange in {e['seconds']} s ({e['edits_per_s']}/s), text matches: {e['text_matches']}"
    )
    for phase in ("start", "after_storm", "end"):
        print(f"  {'server ' + phase:<40}{m[phase]}")
    print(f"  {'RSS growth MiB':<40}{m['rss_growth_mib']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
