"""Triton kernels on the GPU: DSA's indexer scores with top-k and attention over the selection; Engram's row gather.

Nothing here imports Triton until a kernel is called, so the package imports (and the torch paths run) on machines
without Triton or a GPU. `available()` says whether the kernels can run here; `engine.model.dsa.MLA` uses it to
pick the kernel path by default on CUDA (set ``WHOLEREPO_DSA_KERNELS=0`` to force the torch path everywhere).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache

from torch import Tensor


@cache
def available() -> bool:
    """True when Triton imports and a CUDA device is present (and the kernels are not switched off)."""
    if os.environ.get("WHOLEREPO_DSA_KERNELS", "1") == "0":
        return False
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("triton") is not None


def apply_to(x: Tensor, override: bool | None) -> bool:
    """Whether a module's kernel path runs for input ``x``: its ``use_kernels`` override when set, else
    on CUDA inputs, with no gradient recorded, where the kernels can run."""
    if override is not None:
        return override
    import torch

    return x.is_cuda and not torch.is_grad_enabled() and available()


def indexer_topk(q: Tensor, k: Tensor, weights: Tensor, start_pos: int, topk: int) -> Tensor:
    """Indices [B, S, min(topk, T)] (int32, -1 where a row sees fewer keys) of each query's top-k index scores."""
    from .indexer import indexer_topk as run

    return run(q, k, weights, start_pos, topk)


def index_scores(q: Tensor, k: Tensor, weights: Tensor, start_pos: int) -> Tensor:
    """Causally masked index scores [B, S, T] (float32); for tests and short sequences, it holds S x T floats."""
    from .indexer import index_scores as run

    return run(q, k, weights, start_pos)


def sparse_mla_attention(
    q_latent: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor, indices: Tensor, softmax_scale: float
) -> Tensor:
    """Absorbed-MLA attention of each query over its selected keys only: [B, S, H, kv_lora_rank]."""
    from .sparse_attention import sparse_mla_attention as run

    return run(q_latent, q_pe, kv, k_pe, indices, softmax_scale)


def engram_gather(table: Tensor, offsets: Tensor, hash_ids: Tensor) -> Tensor:
    """Engram rows [..., heads, width] read by the GPU from a table on the device or in pinned host memory."""
    from .engram_rows import engram_gather as run

    return run(table, offsets, hash_ids)


__all__ = ["apply_to", "available", "engram_gather", "index_scores", "indexer_topk", "sparse_mla_attention"]
