"""Fuzz the real language server with 10,000+ generated messages and documents; count what broke.

A real `wholerepo serve --stdio` process gets hypothesis-generated adversarial traffic (bad JSON,
broken headers, wrong types, unknown methods, out-of-range and mid-surrogate positions, didChange
ranges past the end, huge documents, unknown cancel ids) through a raw-bytes client. After every
case the server must have answered what it owed and still answer status and hover correctly;
every few hundred cases the LSP lifecycle is checked too (requests before initialize, a second
initialize, requests after shutdown, exit). A server that exits is a crash and is restarted.

Run: ``python -m bench.fuzz_eval --messages 10000 [--seed N] [--max-text BYTES]``; writes
bench/results/fuzz.json. tests/lsp_server/test_fuzz_server.py runs the same cases, fewer of them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .fuzz_lifecycle import check_lifecycle
from .fuzz_messages import cases
from .fuzz_session import FuzzSession
from .report import print_table, save

ROUND = 500  # cases per hypothesis run; rounds repeat with the next seed until enough messages went out
PROBE_EVERY = 5  # probe after every 5th case (and after any case that may break the framing)


def fuzz(session: FuzzSession, messages: int, first_seed: int, max_text: int) -> None:
    strategy = cases(session.world, max_text)
    round_seed = first_seed
    started = time.monotonic()
    while session.tally.messages < messages:

        @seed(round_seed)
        @settings(
            max_examples=ROUND,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def one(data) -> None:
            case = data.draw(strategy)  # drawn first: hypothesis wants the same draws whatever the state
            if session.tally.messages >= messages:
                return
            session.run(case, probe=case.expect == "desync" or session.tally.cases % PROBE_EVERY == 0)

        one()
        round_seed += 1
        check_lifecycle(session)
        rate = session.tally.messages / (time.monotonic() - started)
        print(f"  {session.tally.messages} messages, {session.tally.crashes} crashes, {rate:.0f} msg/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="generated messages to send (at least)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-text", type=int, default=300_000, help="the largest generated document, bytes")
    parser.add_argument(
        "--keep",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wholerepo-fuzz-findings",
        help="where cases that crash or hang the server are written, to replay",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wholerepo-fuzz-") as scratch:
        session = FuzzSession(Path(scratch), keep_dir=args.keep)
        session.start()
        started = time.monotonic()
        try:
            fuzz(session, args.messages, args.seed, args.max_text)
        finally:
            session.stop()
        seconds = time.monotonic() - started
    tally = session.tally
    figures = {
        "messages_sent": tally.messages,
        "cases": tally.cases,
        "documents": tally.documents,
        "probes_answered": tally.probes,
        "lifecycle_checks": tally.lifecycle_checks,
        "server_crashes": tally.crashes,
        "restarts": tally.restarts,
        "hangs": tally.hangs,
        "internal_errors": tally.internal_errors,
        "wrong_answers": tally.wrong_answers,
        "malformed_server_output": tally.violations,
        "errors_by_code": {str(code): n for code, n in sorted(tally.errors.items(), key=lambda kv: str(kv[0]))},
        "cases_by_kind": dict(sorted(tally.kinds.items())),
        "seconds": round(seconds, 1),
        "seed": args.seed,
        "max_text": args.max_text,
        "findings": tally.findings[:50],
    }
    rows = [(name, str(value)) for name, value in figures.items() if name != "findings"]
    print_table("Fuzzing the language server (a real process over stdio)", rows)
    for finding in tally.findings[:20]:
        print("  finding:", finding)
    print(f"  -> {save('fuzz', figures)}")


if __name__ == "__main__":
    main()
