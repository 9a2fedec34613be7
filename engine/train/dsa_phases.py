"""Training DSA the way DeepSeek-V3.2 did, from a model that starts out dense.

Phases (chosen per step by the training loop):

- ``dense``: every DSA layer attends to all keys (no top-k); the indexer is idle. For a model trained from
  scratch this is where the language model learns.
- ``indexer`` (V3.2's dense warm-up): attention stays dense, every other parameter is frozen, and only the lightning
  indexer learns, by KL divergence from its score distribution to the main attention (summed over heads).
- ``sparse``: attention runs over the indexer's top-k only; the language-model loss trains the model and the KL
  loss, restricted to the selected keys, trains the indexer, whose input is detached so the two losses stay apart.

The KL term reaches the indexer through `attach_loss`: the layer's output passes through unchanged, and its
backward adds d(kl_weight * KL)/d(indexer) to whatever the language-model loss sends, so one ``loss.backward()``
trains both, with no side channel out of the (possibly compiled) forward pass.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor, nn

from ..model.decoder import Decoder
from ..model.dsa import MLA, indexer_kl_loss

PHASES = ("dense", "indexer", "sparse")


class _AttachLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx, out: Tensor, aux_loss: Tensor) -> Tensor:
        ctx.save_for_backward(aux_loss)
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (aux_loss,) = ctx.saved_tensors
        return grad_out, torch.ones_like(aux_loss)


def attach_loss(out: Tensor, aux_loss: Tensor) -> Tensor:
    """`out` unchanged; in backward, `aux_loss` gets gradient 1 (as if added to the final loss)."""
    return _AttachLoss.apply(out, aux_loss)


class PhasedAttention(nn.Module):
    """Wraps one MLA for training: the phase decides sparse or dense attention and whether the indexer learns."""

    def __init__(self, mla: MLA, kl_weight: float, loss_scale: float = 1.0):
        super().__init__()
        self.mla = mla
        self.phase = "dense"
        self.kl_weight = kl_weight
        self.loss_scale = loss_scale  # 1 / gradient-accumulation steps, like the language-model loss

    def forward(self, x: Tensor, start_pos: int, freqs: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.phase == "dense":
            return self.mla(x, start_pos, freqs, mask, sparse=False)
        sparse = self.phase == "sparse"
        out, aux = self.mla(x, start_pos, freqs, mask, sparse=sparse, return_aux=True)
        kl = indexer_kl_loss(aux.attn_mass, aux.index_score, aux.keep if sparse else None)
        return attach_loss(out, kl * (self.kl_weight * self.loss_scale))


def dsa_layers(model: Decoder) -> list[MLA]:
    """The model's DSA layers, wrapped for training or not."""
    layers = [block.attention for block in model.layers]
    layers = [layer.mla if isinstance(layer, PhasedAttention) else layer for layer in layers]
    return [layer for layer in layers if isinstance(layer, MLA)]


@contextmanager
def phased_attention(model: Decoder, kl_weight: float = 1.0, loss_scale: float = 1.0):
    """Wrap every DSA layer of `model` in a PhasedAttention for the duration; yields the wrappers.

    The wrappers sit where the MLA was (the pre-norm's sub-layer), so parameter objects are untouched and an
    optimizer built before keeps working; on exit the MLAs go back, so the state dict has its usual names.
    """
    wrappers: list[tuple[nn.Module, PhasedAttention]] = []
    for block in model.layers:
        prenorm = block.attn.sublayer
        if isinstance(prenorm.sublayer, MLA):
            wrapper = PhasedAttention(prenorm.sublayer, kl_weight, loss_scale)
            prenorm.sublayer = wrapper
            wrappers.append((prenorm, wrapper))
    try:
        yield [wrapper for _, wrapper in wrappers]
    finally:
        for prenorm, wrapper in wrappers:
            prenorm.sublayer = wrapper.mla
            wrapper.mla.detach_indexer_input = False


def set_phase(model: Decoder, wrappers: list[PhasedAttention], phase: str) -> None:
    """Switch every wrapper to `phase` and set which parameters learn (see the module docstring)."""
    if phase not in PHASES:
        raise ValueError(f"unknown DSA training phase {phase!r}; known: {PHASES}")
    indexer_params = {id(p) for wrapper in wrappers for p in wrapper.mla.indexer.parameters()}
    for param in model.parameters():
        param.requires_grad_(phase != "indexer" or id(param) in indexer_params)
    for wrapper in wrappers:
        wrapper.phase = phase
        wrapper.mla.detach_indexer_input = phase == "sparse"


def phase_at(progress: float, sparse_start: float, indexer_warmup: float, has_dsa: bool) -> str:
    """The phase at a training progress in [0, 1]: dense, then the indexer warm-up, then sparse from sparse_start."""
    if not has_dsa or progress < sparse_start - indexer_warmup:
        return "dense"
    return "indexer" if progress < sparse_start else "sparse"
