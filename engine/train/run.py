"""A whole training run: prepared data -> arms trained in lockstep -> checkpoints -> evaluation -> results JSON.

With one arm the checkpoint goes straight into the output folder (config.json, model.safetensors, tokenizer.json)
and the results into training.json there; with several (an ablation) each arm gets a sub-folder and the results
go into ablations.json.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..runtime.checkpoint import WEIGHTS_FILE, load_checkpoint, save_checkpoint
from ..templates import WHOLEREPO
from .data import BatchSampler, PreparedData, document_starts
from .evaluate import Case, heldout_loss, line_cases, retrieval_cases, score_cases, use_reference_attention
from .loop import RunStats, Trainer, TrainSettings, resolve_device, train_lockstep
from .tokenizer import EOT

ARMS = ("base", "no-engram", "dense")


@dataclass
class EvalSettings:
    heldout_windows: int = 128
    line_cases: int = 600
    retrieval_distances: tuple[int, ...] = (128, 768, 1792)
    retrieval_per_distance: int = 64
    batch_size: int = 16
    seed: int = 0


def arm_settings(settings: TrainSettings, arm: str) -> TrainSettings:
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")
    if arm == "no-engram":
        return dataclasses.replace(settings, engram=False)
    if arm == "dense":
        return dataclasses.replace(settings, dense=True)
    return settings


def run_training(
    out: str | Path,
    data_folder: str | Path,
    settings: TrainSettings,
    arms: Sequence[str] = ("base",),
    evals: EvalSettings | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    evals = evals or EvalSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = PreparedData(data_folder)
    device = resolve_device(settings.device)
    trainers = [Trainer(arm, arm_settings(settings, arm), data.tokenizer, device) for arm in arms]
    for trainer in trainers:
        log(f"{trainer.name}: {trainer.model.num_params() / 1e6:.2f} M parameters, compiled={trainer.compiled}")
    tokenizer = data.tokenizer
    fim_starts = document_starts(data.train, tokenizer.token_to_id(EOT), tokenizer.token_to_id(WHOLEREPO.fim_middle))
    sampler = BatchSampler(data.train, settings.seq_len, settings.batch_size, settings.seed, anchors=fim_starts)
    stats = train_lockstep(trainers, sampler, settings, log)
    log(f"trained {stats.steps} steps, {stats.tokens / 1e6:.1f} M tokens in {stats.seconds:.0f} s ({stats.stopped_by})")

    cases = _cases(data, evals, settings.seq_len)
    results = {}
    for trainer in trainers:
        folder = out if len(trainers) == 1 else out / trainer.name
        model = trainer.finish()
        save_checkpoint(model, data.tokenizer_path, folder)
        results[trainer.name] = _arm_result(trainer, stats)
        trainer.model = trainer.optimizer = None  # free the training copy before evaluating the saved one
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        results[trainer.name]["eval"] = evaluate_checkpoint(folder, data, cases, evals, device, log)
        results[trainer.name]["checkpoint_bytes"] = (folder / WEIGHTS_FILE).stat().st_size
        log(f"{trainer.name}: {json.dumps(results[trainer.name]['eval'])}")

    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "data": data.info(),
        "settings": dataclasses.asdict(settings),
        "eval_settings": dataclasses.asdict(evals),
        "run": dataclasses.asdict(stats),
        "max_memory_gb": torch.cuda.max_memory_allocated(device) / 1e9 if device.type == "cuda" else None,
        "arms": results,
    }
    name = "training.json" if len(trainers) == 1 else "ablations.json"
    (out / name).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _cases(data: PreparedData, evals: EvalSettings, seq_len: int) -> dict[str, list[Case]]:
    files = data.heldout_files()
    started = time.perf_counter()
    lines = line_cases(
        files, data.tokenizer, evals.line_cases, prefix_tokens=seq_len // 2, suffix_tokens=seq_len // 8, seed=evals.seed
    )
    lines = [case for case in lines if len(case.prompt) + len(case.target) <= seq_len]
    distances = [d for d in evals.retrieval_distances if d + 200 <= seq_len]
    retrieval = retrieval_cases(files, data.tokenizer, distances, evals.retrieval_per_distance, seed=evals.seed)
    cases = {"lines": lines}
    for distance in distances:
        cases[f"retrieval@{distance}"] = [c for c in retrieval if c.tag == f"distance={distance}"]
    print(f"evaluation cases built in {time.perf_counter() - started:.1f} s")
    return cases


def evaluate_checkpoint(
    folder: Path,
    data: PreparedData,
    cases: dict[str, list[Case]],
    evals: EvalSettings,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> dict:
    """Held-out loss, single-line exact match and retrieval, on the checkpoint as saved (bf16 on CUDA)."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = load_checkpoint(folder, device, dtype)
    use_reference_attention(model)
    started = time.perf_counter()
    pad = data.tokenizer.token_to_id(EOT)
    seq_len = model.config.max_seq_len
    result = {"heldout_loss": heldout_loss(model, data.val, seq_len, evals.heldout_windows, evals.batch_size)}
    for name, group in cases.items():
        result[name] = score_cases(model, group, evals.batch_size, pad).as_dict()
    result["seconds"] = time.perf_counter() - started
    del model
    return result


def _arm_result(trainer: Trainer, stats: RunStats) -> dict:
    model = trainer.model
    tail = [loss for _, loss in trainer.log.losses[-5:]]
    return {
        "config": trainer.config.to_dict(),
        "parameters": model.num_params(),
        "compiled": trainer.compiled,
        "train_loss_last": sum(tail) / len(tail) if tail else None,
        "loss_curve": trainer.log.losses,
        "phases": trainer.log.phases,
        "tokens_per_second": stats.tokens / max(stats.seconds, 1e-9),
    }
