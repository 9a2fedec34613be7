"""`python -m engine.train --out DIR [--minutes M] [--no-engram] [--dense] ...`: train the embedded model.

Without --data the corpus is prepared first (the running interpreter's Python sources) into OUT/data; with
--prepare-only nothing is trained. --arms trains several variants in lockstep on the same batches (an ablation).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .data import DataSettings, prepare_data
from .loop import TrainSettings
from .run import ARMS, EvalSettings, run_training


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.train", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="output folder (checkpoint, results JSON)")
    p.add_argument("--data", type=Path, help="a folder written by an earlier --prepare-only run")
    p.add_argument("--prepare-only", action="store_true", help="only prepare the corpus into --data (or OUT/data)")
    p.add_argument("--tokenizer", help="reuse this tokenizer.json instead of training one")
    p.add_argument("--max-files", type=int, help="use at most this many source files (quick runs)")
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget (default 8)")
    p.add_argument("--steps", type=int, help="fixed step count (the schedule follows it, not the clock)")
    p.add_argument("--preset", default="default", help="model preset (engine.model.config.PRESETS)")
    p.add_argument("--no-engram", action="store_true", help="train without the preset's Engram layers")
    p.add_argument("--dense", action="store_true", help="DSA layers attend to every key (no top-k selection)")
    p.add_argument("--arms", default="base", help=f"comma-separated arms trained in lockstep: {', '.join(ARMS)}")
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--sparse-start", type=float, default=0.7, help="progress where sparse DSA training starts")
    p.add_argument("--indexer-warmup", type=float, default=0.05, help="progress share of the indexer-only warm-up")
    compile_group = p.add_mutually_exclusive_group()
    compile_group.add_argument("--compile", dest="compile", action="store_true", default=False)
    compile_group.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--no-compile-mhc", dest="compile_mhc", action="store_false", help="keep mHC's mixing eager")
    p.add_argument("--device", help="cuda or cpu (default: cuda when present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-lines", type=int, default=600, help="held-out single-line completion cases")
    p.add_argument("--eval-retrieval", type=int, default=64, help="retrieval cases per distance")
    p.add_argument("--eval-windows", type=int, default=128, help="held-out loss windows")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    arms = [arm.strip() for arm in args.arms.split(",") if arm.strip()]
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown or not arms:
        print(f"error: unknown arms {unknown}; known: {', '.join(ARMS)}", file=sys.stderr)
        return 2
    if args.tokenizer and not Path(args.tokenizer).is_file():
        print(f"error: no tokenizer at {args.tokenizer}", file=sys.stderr)
        return 2
    data = args.data or args.out / "data"
    if args.prepare_only or args.data is None:
        started = time.perf_counter()
        prepare_data(data, DataSettings(tokenizer=args.tokenizer, max_files=args.max_files, seed=args.seed))
        print(f"data prepared in {data} ({time.perf_counter() - started:.0f} s)")
        if args.prepare_only:
            return 0
    settings = TrainSettings(
        preset=args.preset,
        engram=not args.no_engram,
        dense=args.dense,
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        lr=args.lr,
        minutes=args.minutes,
        steps=args.steps,
        sparse_start=args.sparse_start,
        indexer_warmup=args.indexer_warmup,
        compile=args.compile,
        compile_mhc=args.compile_mhc,
        device=args.device,
        seed=args.seed,
        log_every=args.log_every,
    )
    evals = EvalSettings(
        heldout_windows=args.eval_windows, line_cases=args.eval_lines, retrieval_per_distance=args.eval_retrieval
    )
    try:
        run_training(args.out, data, settings, arms, evals)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
