"""Run every benchmark in turn: ``python -m bench`` (what ``make bench`` does).

Benchmarks that need inputs fetched by ../shared/eval/prepare.py (diagnostics_eval, rename_eval,
resolution_eval) or a GPU (gpu_bench) run on their own: ``python -m bench.<name>``; so does the 10,000-message
server fuzz (fuzz_eval), which takes tens of minutes.
"""

from __future__ import annotations

import sys

from . import context_bench, crash_eval, engine_bench, index_bench, load_bench, server_bench, write_faults_eval


def main() -> None:
    sys.argv = sys.argv[:1]  # each benchmark's own defaults
    index_bench.run()
    context_bench.run()
    engine_bench.main()
    server_bench.main()
    load_bench.main([])
    crash_eval.main()
    write_faults_eval.main()


if __name__ == "__main__":
    main()
