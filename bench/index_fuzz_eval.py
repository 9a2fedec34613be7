"""Arbitrary bytes into the indexer: hundreds of generated workspaces, every step checked.

Each example is two generations of ten files (every language's extensions, random bytes or mutated
snippets, see bench/fuzz_files.py) built cold, rebuilt, overlaid as editor buffers and closed;
after each step SQLite's integrity check passes and every file is indexed or skipped with a reason.
An exception is counted as a crash and the run goes on.

Run: ``python -m bench.index_fuzz_eval [--examples N] [--seed N]``; writes bench/results/index_fuzz.json.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections import Counter

from hypothesis import HealthCheck, Phase, given, seed, settings

from .fuzz_files import WORKSPACE, index_round
from .report import print_table, save


def run(examples: int, first_seed: int) -> dict:
    tally = Counter()
    findings: list[str] = []

    @seed(first_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(first=WORKSPACE, second=WORKSPACE)
    def one(first, second) -> None:
        tally["examples"] += 1
        tally["files_written"] += len(first) + len(second)
        tally["buffers_overlaid"] += len(first)
        tally["bytes_written"] += sum(map(len, first.values())) + sum(map(len, second.values()))
        try:
            problems = index_round(first, second)
        except Exception:  # noqa: BLE001 - the point: count it, keep going
            tally["crashes"] += 1
            findings.append(traceback.format_exc(limit=4))
            return
        tally["inconsistent"] += bool(problems)
        findings.extend(problems)

    started = time.monotonic()
    one()
    return {
        "examples": tally["examples"],
        "files_written": tally["files_written"],
        "buffers_overlaid": tally["buffers_overlaid"],
        "bytes_written": tally["bytes_written"],
        "crashes": tally["crashes"],
        "inconsistent_indexes": tally["inconsistent"],
        "seconds": round(time.monotonic() - started, 1),
        "seed": first_seed,
        "findings": findings[:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures = run(args.examples, args.seed)
    print_table("Arbitrary bytes into the indexer", [(k, str(v)) for k, v in figures.items() if k != "findings"])
    for finding in figures["findings"]:
        print("  finding:", finding)
    print(f"  -> {save('index_fuzz', figures)}")


if __name__ == "__main__":
    main()
