"""The decoder's shape in one JSON-friendly dataclass, with named presets from `tiny` (tests) to `default` (shipped).

The settings of DSA and Engram repeat none of the backbone's numbers (width, heads, context, streams): the
decoder derives the sub-module configs (`DSAConfig`, `EngramConfig`) from one `ModelConfig`, so they cannot
disagree.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .dsa import DSAConfig
from .engram import EngramConfig

ATTENTION_KINDS = ("dense", "dsa")


@dataclass(frozen=True)
class DSASettings:
    """MLA + lightning indexer dimensions (see engine.model.dsa); sequences up to `index_topk` attend densely."""

    q_lora_rank: int = 128
    kv_lora_rank: int = 128
    qk_nope_head_dim: int = 48
    qk_rope_head_dim: int = 16
    v_head_dim: int = 64
    index_n_heads: int = 4
    index_head_dim: int = 32
    index_topk: int = 512


@dataclass(frozen=True)
class EngramSettings:
    """Hashed n-gram memory in `layer_ids`; the V4.1 variant (no short conv), so decoding needs only token lookback."""

    layer_ids: tuple[int, ...] = (1,)
    max_ngram_size: int = 3
    table_sizes: tuple[int, ...] = (8192, 8192)  # nominal rows per head, one per order 2..max_ngram_size
    n_embed_per_ngram: int = 64
    n_head_per_ngram: int = 4
    pad_id: int = 0  # raw token id read before the sequence start
    seed: int = 0


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 16384
    dim: int = 256
    n_layers: int = 8
    n_heads: int = 4
    mlp_hidden: int = 704  # SwiGLU width (about 8/3 * dim, rounded to 64)
    max_seq_len: int = 4096
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True  # the output head reuses the token embedding: a large share of a small model
    attention: str = "dense"  # "dense" (causal MHA, SDPA) or "dsa" (MLA + lightning indexer)
    dsa: DSASettings | None = None  # used when attention == "dsa"; None there means DSASettings()
    engram: EngramSettings | None = None
    mhc_streams: int = 0  # 0: plain residual; n >= 2: mHC with n residual streams

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {self.attention!r}")
        if self.attention == "dsa" and self.dsa is None:
            object.__setattr__(self, "dsa", DSASettings())
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not divisible by n_heads {self.n_heads}")
        if self.attention == "dense" and (self.dim // self.n_heads) % 2:
            raise ValueError(f"RoPE needs an even head dim, got {self.dim // self.n_heads}")
        if self.mhc_streams == 1 or self.mhc_streams < 0:
            raise ValueError(f"mhc_streams must be 0 (off) or at least 2, got {self.mhc_streams}")
        if self.engram is not None:
            bad = [layer for layer in self.engram.layer_ids if not 0 <= layer < self.n_layers]
            if bad:
                raise ValueError(f"Engram layer ids {bad} are outside the {self.n_layers} layers")
            if not 0 <= self.engram.pad_id < self.vocab_size:
                raise ValueError(f"Engram pad_id {self.engram.pad_id} is outside the vocabulary ({self.vocab_size})")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def dsa_config(self) -> DSAConfig:
        """The DSAConfig of every attention layer; no YaRN (the model is trained at its full context)."""
        s = self.dsa or DSASettings()
        return DSAConfig(
            dim=self.dim,
            n_heads=self.n_heads,
            q_lora_rank=s.q_lora_rank,
            kv_lora_rank=s.kv_lora_rank,
            qk_nope_head_dim=s.qk_nope_head_dim,
            qk_rope_head_dim=s.qk_rope_head_dim,
            v_head_dim=s.v_head_dim,
            index_n_heads=s.index_n_heads,
            index_head_dim=s.index_head_dim,
            index_topk=s.index_topk,
            max_seq_len=self.max_seq_len,
            original_seq_len=self.max_seq_len,
            rope_theta=self.rope_theta,
            norm_eps=self.norm_eps,
        )

    def engram_config(self) -> EngramConfig | None:
        if self.engram is None:
            return None
        s = self.engram
        return EngramConfig(
            hidden_size=self.dim,
            hc_mult=max(1, self.mhc_streams),
            table_sizes=tuple(s.table_sizes),
            max_ngram_size=s.max_ngram_size,
            n_embed_per_ngram=s.n_embed_per_ngram,
            n_head_per_ngram=s.n_head_per_ngram,
            layer_ids=tuple(s.layer_ids),
            pad_id=s.pad_id,
            seed=s.seed,
            gate_norm_eps=self.norm_eps,
            v41=True,
        )

    # --- JSON -----------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """The inverse of `to_dict`; unknown keys are an error (a config from another model family)."""
        data = dict(data)
        _check_keys(cls, data, "model config")
        if data.get("dsa") is not None:
            _check_keys(DSASettings, data["dsa"], "dsa settings")
            data["dsa"] = DSASettings(**data["dsa"])
        if data.get("engram") is not None:
            engram = dict(data["engram"])
            _check_keys(EngramSettings, engram, "engram settings")
            for key in ("layer_ids", "table_sizes"):
                if key in engram:
                    engram[key] = tuple(engram[key])
            data["engram"] = EngramSettings(**engram)
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _check_keys(kind: type, data: Any, what: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; known: {sorted(known)}")


# --- presets ----------------------------------------------------------------------------------------------------

_TINY = ModelConfig(vocab_size=512, dim=64, n_layers=2, n_heads=4, mlp_hidden=128, max_seq_len=128)

PRESETS: dict[str, ModelConfig] = {
    # Unit tests and plumbing: dense attention, plain residual, no memory.
    "tiny": _TINY,
    # Every part at test size: DSA with a top-k small enough that short sequences already go sparse, Engram, mHC.
    "tiny-full": dataclasses.replace(
        _TINY,
        n_layers=3,
        attention="dsa",
        dsa=DSASettings(
            q_lora_rank=32,
            kv_lora_rank=32,
            qk_nope_head_dim=16,
            qk_rope_head_dim=8,
            v_head_dim=16,
            index_n_heads=8,  # enough heads that all-relu-zero index scores (exact top-k ties) are rare
            index_head_dim=16,
            index_topk=8,
        ),
        engram=EngramSettings(layer_ids=(0, 2), table_sizes=(97, 89), n_embed_per_ngram=32, n_head_per_ngram=2),
        mhc_streams=4,
    ),
    # A quick dense baseline for training experiments.
    "small": ModelConfig(dim=256, n_layers=6, n_heads=4, mlp_hidden=704, max_seq_len=2048),
    # The shipped model: DSA, Engram in two layers, 4-stream mHC; about 13.4M parameters, 26.9 MB in bf16.
    "default": ModelConfig(
        attention="dsa",
        dsa=DSASettings(),
        engram=EngramSettings(layer_ids=(1, 5), table_sizes=(8192, 8192)),
        mhc_streams=4,
    ),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A named preset, with fields replaced by `overrides` (e.g. ``preset("tiny", attention="dsa")``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known: {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)
