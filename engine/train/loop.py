"""The training loop (nanoGPT-style): AdamW, warm-up then cosine decay, bf16 autocast, a wall-clock budget.

Several models ("arms") can train in lockstep: every step draws one batch and each arm takes a step on it, so
ablation arms see exactly the same tokens in the same order and the same number of steps, and share the GPU
evenly. Progress runs from 0 to 1 over `steps` when given, else over the time budget; the learning-rate schedule
and the DSA phases (engine.train.dsa_phases) follow it, and training stops at 1 or when the budget is spent.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from ..model.config import ModelConfig, preset
from ..model.decoder import Decoder, engram_lookup_for
from ..model.mhc import compiled_mixing
from .data import BatchSampler
from .dsa_phases import phase_at, phased_attention, set_phase

VOCAB_MULTIPLE = 64


@dataclass
class TrainSettings:
    preset: str = "default"
    engram: bool = True  # False: the preset without its Engram layers
    dense: bool = False  # True: DSA layers attend to every key, in training and (index_topk = context) inference
    seq_len: int = 2048  # training window; also the saved model's context (max_seq_len)
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 1.5e-3
    min_lr_ratio: float = 0.1
    warmup: float = 0.03  # share of progress with a linear learning-rate ramp
    weight_decay: float = 0.1
    engram_lr_mult: float = 5.0  # the Engram paper trains its tables with a larger step and no weight decay
    grad_clip: float = 1.0
    minutes: float = 8.0
    steps: int | None = None  # fixed step count (the schedule follows it); None: the schedule follows the clock
    sparse_start: float = 0.7  # progress where sparse DSA training starts
    indexer_warmup: float = 0.05  # progress share before sparse_start where only the indexer learns
    indexer_warmup_min_steps: int = 100  # ... and on the clock at least this many steps
    kl_weight: float = 1.0
    compile: bool = False  # per-block torch.compile: ~87 s per phase variant on the H200, more than it saves in 10 min
    compile_mhc: bool = True  # on a GPU, fuse mHC's stream mixing (engine.model.mhc.compiled_mixing): 1.4x per step
    device: str | None = None
    seed: int = 0
    log_every: int = 25


@dataclass
class ArmLog:
    """What one arm did: losses at logged steps and the steps where its DSA phase changed."""

    losses: list[tuple[int, float]] = field(default_factory=list)
    phases: list[tuple[int, str]] = field(default_factory=list)


def model_config(settings: TrainSettings, vocab_size: int) -> ModelConfig:
    """The preset, sized to the tokenizer and training window, with the arm's Engram/attention switches."""
    padded = math.ceil(vocab_size / VOCAB_MULTIPLE) * VOCAB_MULTIPLE
    config = preset(settings.preset, vocab_size=padded, max_seq_len=settings.seq_len)
    if not settings.engram:
        config = dataclasses.replace(config, engram=None)
    if settings.dense and config.attention == "dsa":
        config = dataclasses.replace(config, dsa=dataclasses.replace(config.dsa, index_topk=settings.seq_len))
    return config


def lr_at(progress: float, settings: TrainSettings) -> float:
    if progress < settings.warmup:
        return settings.lr * max(progress, 1e-3) / settings.warmup
    decay = (progress - settings.warmup) / max(1e-9, 1 - settings.warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, decay)))
    return settings.lr * (settings.min_lr_ratio + (1 - settings.min_lr_ratio) * cosine)


def configure_compile() -> None:
    """Per-block compilation: every phase x block kind x arm is a compiled variant, far over the default limit of
    8; and a variant that fails to compile runs eagerly instead of ending the run."""
    import torch._dynamo

    config = torch._dynamo.config
    for name, value in (("recompile_limit", 64), ("cache_size_limit", 64), ("accumulated_recompile_limit", 512)):
        if hasattr(config, name):
            setattr(config, name, value)
    config.suppress_errors = True


def resolve_device(name: str | None) -> torch.device:
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


class Trainer:
    """One arm: its model, optimizer and DSA phase; `step` trains on the batches it is given."""

    def __init__(self, name: str, settings: TrainSettings, tokenizer: Tokenizer, device: torch.device):
        self.name, self.settings, self.device = name, settings, device
        self.config = model_config(settings, tokenizer.get_vocab_size())
        torch.manual_seed(settings.seed)
        lookup = engram_lookup_for(tokenizer, self.config.vocab_size) if self.config.engram else None
        self.model = Decoder(self.config, engram_lookup=lookup).to(device).train()
        self._stack = ExitStack()
        self.wrappers = self._stack.enter_context(
            phased_attention(self.model, settings.kl_weight, loss_scale=1 / settings.grad_accum)
        )
        if settings.compile_mhc and device.type == "cuda" and self.config.mhc_streams:
            self._stack.enter_context(compiled_mixing())
        self.sparse = bool(self.wrappers) and not settings.dense
        self.phase: str | None = None
        self.optimizer = self._optimizer()
        self.log = ArmLog()
        self.compiled = settings.compile
        if self.compiled:
            configure_compile()
            for block in self.model.layers:
                block.compile()

    def _optimizer(self) -> torch.optim.Optimizer:
        engram_tables, decay, no_decay = [], [], []
        for name, param in self.model.named_parameters():
            if ".engram.embedding." in f".{name}":
                engram_tables.append(param)
            elif param.dim() >= 2:
                decay.append(param)
            else:
                no_decay.append(param)
        s = self.settings
        groups = [
            {"params": decay, "weight_decay": s.weight_decay, "lr_mult": 1.0},
            {"params": no_decay, "weight_decay": 0.0, "lr_mult": 1.0},
            {"params": engram_tables, "weight_decay": 0.0, "lr_mult": s.engram_lr_mult},
        ]
        fused = self.device.type == "cuda"
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=s.lr, betas=(0.9, 0.95), fused=fused)

    def set_phase(self, progress: float, step: int) -> None:
        s = self.settings
        phase = phase_at(progress, s.sparse_start, s.indexer_warmup, self.sparse)
        if phase == "sparse" and self.phase == "indexer" and s.steps is None:
            # on the clock, the warm-up's share can go to recompiling at the phase switch: steps are what count
            if step - self.log.phases[-1][0] < s.indexer_warmup_min_steps:
                phase = "indexer"
        if phase != self.phase:
            set_phase(self.model, self.wrappers, phase)
            self.phase = phase
            self.log.phases.append((step, phase))

    def step(self, batches: list[tuple[torch.Tensor, torch.Tensor]], lr: float) -> torch.Tensor:
        """One optimizer step over the micro-batches; returns the mean language-model loss (a device tensor)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]
        self.optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        for x, y in batches:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                logits = self.model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            (loss / len(batches)).backward()
            total += loss.detach()
        params = [p for p in self.model.parameters() if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, self.settings.grad_clip)
        self.optimizer.step()
        return total / len(batches)

    def finish(self) -> Decoder:
        """Unwrap the DSA layers (usual state-dict names) and return the model in eval mode."""
        self._stack.close()
        for param in self.model.parameters():
            param.requires_grad_(True)
        return self.model.eval()


@dataclass
class RunStats:
    steps: int
    seconds: float
    tokens: int
    stopped_by: str


def train_lockstep(
    trainers: list[Trainer], sampler: BatchSampler, settings: TrainSettings, log: Callable[[str], None] = print
) -> RunStats:
    """Train every arm on the same batches until progress reaches 1 or the time budget is spent."""
    budget = settings.minutes * 60
    device = trainers[0].device
    started = time.perf_counter()
    step, stopped_by = 0, "steps"
    while True:
        elapsed = time.perf_counter() - started
        if settings.steps is not None and step >= settings.steps:
            break
        if elapsed >= budget:
            stopped_by = "time"
            break
        progress = step / settings.steps if settings.steps else elapsed / budget
        lr = lr_at(progress, settings)
        batches = [sampler.next(device) for _ in range(settings.grad_accum)]
        losses = []
        for trainer in trainers:
            trainer.set_phase(progress, step)
            losses.append(trainer.step(batches, lr))
        step += 1
        if step % settings.log_every == 0 or step == 1:
            values = [loss.item() for loss in losses]  # one sync per log line, not per step
            for trainer, value in zip(trainers, values, strict=True):
                trainer.log.losses.append((step, value))
            arms = "  ".join(f"{t.name} {v:.3f} ({t.phase})" for t, v in zip(trainers, values, strict=True))
            log(f"step {step}  {elapsed:.0f}s  lr {lr:.2e}  {arms}")
    seconds = time.perf_counter() - started
    tokens = step * settings.batch_size * settings.grad_accum * settings.seq_len
    return RunStats(step, seconds, tokens, stopped_by)
