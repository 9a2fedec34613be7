"""Training step time of the default model, per DSA phase and per component, on synthetic tokens (GPU).

Why: the trained default model is starved of tokens (tens of millions in a 10-minute budget), so the step time
decides its quality. This shows where the time goes: each variant switches one component off or changes how it
runs, and the profiler table lists the top CUDA kernels of the default dense step.

Run: ``python -m bench.train_probe [--batch-size 16] [--steps 8] [--out bench/results/train_probe.json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer

from engine.model import mhc
from engine.train import loop
from engine.train.loop import Trainer, TrainSettings

TOKENIZER = Path(__file__).resolve().parents[1] / "engine/weights/default/tokenizer.json"


def _time_steps(trainer: Trainer, batches, steps: int) -> float:
    for _ in range(3):
        trainer.step(batches, 1e-4)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        trainer.step(batches, 1e-4)
    torch.cuda.synchronize()
    return (time.perf_counter() - started) / steps


def _variant(name: str, settings: TrainSettings, tokenizer, batches, steps: int, phase: str) -> dict:
    trainer = Trainer(name, settings, tokenizer, torch.device("cuda"))
    trainer.set_phase({"dense": 0.0, "indexer": settings.sparse_start - 1e-3, "sparse": 1.0}[phase], 0)
    seconds = _time_steps(trainer, batches, steps)
    tokens = batches[0][0].numel()
    result = {"variant": name, "phase": phase, "step_ms": seconds * 1000, "tokens_per_s": tokens / seconds}
    print(json.dumps(result), flush=True)
    del trainer
    torch.cuda.empty_cache()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, tokenizer.get_vocab_size(), (args.batch_size, args.seq_len + 1), generator=generator)
    batches = [(tokens[:, :-1].cuda(), tokens[:, 1:].cuda())]
    base = TrainSettings(seq_len=args.seq_len, batch_size=args.batch_size)
    results = []
    for phase in ("dense", "indexer", "sparse"):
        results.append(_variant("default", base, tokenizer, batches, args.steps, phase))
    results.append(
        _variant("no-engram", dataclasses.replace(base, engram=False), tokenizer, batches, args.steps, "dense")
    )
    plain_config = loop.model_config
    loop.model_config = lambda s, v: dataclasses.replace(plain_config(s, v), mhc_streams=0)
    try:
        results.append(_variant("no-mhc", base, tokenizer, batches, args.steps, "dense"))
    finally:
        loop.model_config = plain_config
    original = mhc.sinkhorn
    mhc.sinkhorn = torch.compile(original, dynamic=False)
    try:
        results.append(_variant("sinkhorn-compiled", base, tokenizer, batches, args.steps, "dense"))
    finally:
        mhc.sinkhorn = original
    mappings = mhc.HyperConnection.mappings
    mhc.HyperConnection.mappings = torch.compile(mappings, dynamic=False)
    try:
        results.append(_variant("mhc-maps-compiled", base, tokenizer, batches, args.steps, "dense"))
    finally:
        mhc.HyperConnection.mappings = mappings

    trainer = Trainer("profile", base, tokenizer, torch.device("cuda"))
    trainer.set_phase(0.0, 0)
    for _ in range(3):
        trainer.step(batches, 1e-4)
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    ) as prof:
        for _ in range(3):
            trainer.step(batches, 1e-4)
        torch.cuda.synchronize()
    table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=30)
    print(table)
    cpu_table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=20)
    print(cpu_table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"variants": results, "profile": table, "cpu_profile": cpu_table}, indent=1))


if __name__ == "__main__":
    main()
