"""DeepSeek Sparse Attention (DSA, DeepSeek-V3.2): MLA attention over the top-k tokens a lightning indexer picks.

The pieces, in the order a forward pass uses them:

- MLA (multi-head latent attention, DeepSeek-V2/V3): queries come from a low-rank latent ``qr``; keys and values
  from one shared latent ``kv`` per token plus a small RoPE key ``k_pe``, so the cache holds ``kv_lora_rank +
  qk_rope_head_dim`` numbers per token. RoPE is interleaved here (pairs 0-1, 2-3, ...).
- The lightning indexer: ``I[t, s] = sum_h w[t, h] * relu(q[t, h] . k[s])`` with few heads, one key per token
  (``LayerNorm(W_k x)``) and per-query head weights ``w = weights_proj(x) / sqrt(heads) / sqrt(head_dim)``. RoPE is
  applied to the first ``qk_rope_head_dim`` dims, non-interleaved (pairs i, i + r/2): the 2025-11-17 fix of the
  official code. The real model runs it in FP8; ``index_fp8`` simulates that (Hadamard rotation, then per-block
  quantisation with power-of-two scales), which only moves scores by rounding but can flip near-ties in the top-k.
- Token selection: causal mask, top-k with k = min(topk, keys), then the selected set is masked causally again
  (for an early row top-k also names future slots), and attention runs only over what is left.

Prefill expands the latents into per-head keys and values ("MHA"); decode keeps them latent and folds the
up-projection into the query and output ("absorbed MQA"), which reads far less memory per step. Both give the
same result up to rounding. Sequences no longer than top-k take the dense path: the indexer would pick every
token anyway.

Training (V3.2 report): a dense warm-up where only the indexer learns, by ``indexer_kl_loss`` towards the main
attention summed over heads; then sparse training with the indexer's input detached (``MLA.detach_indexer_input``)
so that the indexer learns only from its KL loss and the model only from the language-model loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FP8_E4M3_MAX = 448.0


@dataclass
class DSAConfig:
    """Shapes of one DSA attention layer; the defaults are DeepSeek-V3.2's own ModelArgs defaults."""

    dim: int = 2048
    n_heads: int = 16
    q_lora_rank: int = 512
    kv_lora_rank: int = 512
    qk_nope_head_dim: int = 128
    qk_rope_head_dim: int = 64
    v_head_dim: int = 128
    index_n_heads: int = 64
    index_head_dim: int = 128
    index_topk: int = 2048
    max_seq_len: int = 16384
    rope_theta: float = 10000.0
    # YaRN context extension; it only applies when max_seq_len > original_seq_len.
    original_seq_len: int = 4096
    rope_factor: float = 40.0
    beta_fast: int = 32
    beta_slow: int = 1
    mscale: float = 1.0
    norm_eps: float = 1e-6
    # Simulate the FP8 indexer kernel (Hadamard + block quantisation); off means the plain float formula.
    index_fp8: bool = False
    fp8_block_size: int = 128
    fp8_pow2_scale: bool = True  # "ue8m0" scales: amax / 448 rounded up to a power of two

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    @property
    def softmax_scale(self) -> float:
        """1/sqrt(head dim), times YaRN's attention temperature correction when the context is extended."""
        scale = self.qk_head_dim**-0.5
        if self.max_seq_len > self.original_seq_len:
            mscale = 0.1 * self.mscale * math.log(self.rope_factor) + 1.0
            scale *= mscale * mscale
        return scale


# ---------------------------------------------------------------------------------------------------------------
# RoPE


def precompute_freqs(cfg: DSAConfig) -> Tensor:
    """Complex rotations e^(i * pos * freq), [max_seq_len, qk_rope_head_dim / 2], with YaRN when extended."""
    dim, base = cfg.qk_rope_head_dim, cfg.rope_theta
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    if cfg.max_seq_len > cfg.original_seq_len:
        # YaRN: slow down the low frequencies by rope_factor, keep the high ones, ramp linearly in between.
        def correction_dim(rotations: float) -> float:
            return dim * math.log(cfg.original_seq_len / (rotations * 2 * math.pi)) / (2 * math.log(base))

        low = max(math.floor(correction_dim(cfg.beta_fast)), 0)
        high = min(math.ceil(correction_dim(cfg.beta_slow)), dim - 1)
        ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / max(high - low, 1e-3)).clamp(0, 1)
        freqs = freqs / cfg.rope_factor * ramp + freqs * (1 - ramp)
    angles = torch.outer(torch.arange(cfg.max_seq_len, dtype=torch.float32), freqs)
    return torch.polar(torch.ones_like(angles), angles)


def apply_rope(x: Tensor, freqs: Tensor, interleaved: bool) -> Tensor:
    """Rotate x [B, S, H, r] by freqs [S, r/2]. Pairs are (0,1), (2,3), ... if interleaved, else (i, i + r/2)."""
    shape = x.shape
    if interleaved:
        pairs = x.float().reshape(*shape[:-1], -1, 2)
    else:
        pairs = x.float().reshape(*shape[:-1], 2, -1).transpose(-1, -2)
    rotated = torch.view_as_real(torch.view_as_complex(pairs.contiguous()) * freqs[None, :, None, :])
    if not interleaved:
        rotated = rotated.transpose(-1, -2)
    return rotated.reshape(shape).to(x.dtype)


# ---------------------------------------------------------------------------------------------------------------
# Norms: computed in float32 whatever the activation dtype, as the reference does.


class RMSNorm(nn.RMSNorm):
    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x.float(), self.normalized_shape, self.weight.float(), self.eps).type_as(x)


class LayerNorm(nn.LayerNorm):
    def forward(self, x: Tensor) -> Tensor:
        weight, bias = self.weight.float(), self.bias.float()
        return F.layer_norm(x.float(), self.normalized_shape, weight, bias, self.eps).type_as(x)


# ---------------------------------------------------------------------------------------------------------------
# FP8 simulation of the indexer kernel


def hadamard_matrix(n: int) -> Tensor:
    """Sylvester's Hadamard matrix of order n (a power of two), entries +-1."""
    if n & (n - 1):
        raise ValueError(f"Hadamard rotation needs a power-of-two size, got {n}")
    h = torch.ones(1, 1)
    while h.size(0) < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def rotate_activation(x: Tensor) -> Tensor:
    """Orthonormal Hadamard rotation of the last dim: spreads outliers before FP8 rounding, leaves q.k unchanged."""
    n = x.size(-1)
    return ((x.float() @ hadamard_matrix(n).to(x.device)) * n**-0.5).to(x.dtype)


def fake_quant_fp8(x: Tensor, block_size: int, pow2_scale: bool = True) -> Tensor:
    """x rounded as the FP8 kernel sees it: float8_e4m3 with one scale per block of the last dim, scaled back (fp32)."""
    shape = x.shape
    blocks = x.float().reshape(*shape[:-1], -1, block_size)
    scale = blocks.abs().amax(-1, keepdim=True).clamp_min(1e-4) / FP8_E4M3_MAX
    if pow2_scale:
        scale = torch.exp2(torch.ceil(torch.log2(scale)))
    q = (blocks / scale).clamp(-FP8_E4M3_MAX, FP8_E4M3_MAX).to(torch.float8_e4m3fn).float()
    return (q * scale).reshape(shape)


# ---------------------------------------------------------------------------------------------------------------
# Caches, masks, selection


def extend_cache(cache: Tensor | None, new: Tensor, start_pos: int) -> Tensor:
    """Write new [B, S, ...] at positions start_pos.. of cache; return all entries up to the end.

    The new part is returned as given (keeping its autograd graph); the cache stores a detached copy. With no cache
    only a pass starting at position 0 is possible.
    """
    if cache is None:
        if start_pos:
            raise ValueError(f"start_pos={start_pos} needs a KV cache: call setup_cache() first")
        return new
    bsz, end = new.size(0), start_pos + new.size(1)
    if bsz > cache.size(0) or end > cache.size(1):
        raise ValueError(f"batch {bsz} x positions {end} exceed the cache {tuple(cache.shape[:2])}")
    cache[:bsz, start_pos:end] = new.detach()
    if not new.requires_grad and cache.dtype == new.dtype:
        return cache[:bsz, :end]  # a view: decoding reads the cache without copying all of it each step
    return torch.cat([cache[:bsz, :start_pos].to(new.dtype), new], dim=1)


def causal_mask(seqlen: int, start_pos: int, device: torch.device | None = None) -> Tensor:
    """Additive mask [seqlen, start_pos + seqlen]: query i (position start_pos + i) sees keys 0..start_pos + i."""
    q_pos = torch.arange(seqlen, device=device)[:, None] + start_pos
    k_pos = torch.arange(start_pos + seqlen, device=device)[None, :]
    return torch.zeros(q_pos.size(0), k_pos.size(1), device=device).masked_fill(k_pos > q_pos, float("-inf"))


def select_topk(index_score: Tensor, topk: int) -> tuple[Tensor, Tensor]:
    """Top-k keys per query from masked scores [B, S, T]: (indices [B, S, min(topk, T)], keep [B, S, T] bool).

    ``keep`` is the selected set re-masked: slots the mask ruled out (score -inf) stay out even when top-k named
    them, so row t keeps exactly min(topk, t + 1) keys under a causal mask.
    """
    # a stable sort breaks ties (exact zeros from the ReLU are common) by position, so a full forward and
    # cached decoding pick the same keys
    k = min(topk, index_score.size(-1))
    indices = index_score.sort(dim=-1, descending=True, stable=True).indices[..., :k]
    keep = torch.zeros_like(index_score, dtype=torch.bool).scatter_(-1, indices, True)
    return indices, keep & (index_score > float("-inf"))


# ---------------------------------------------------------------------------------------------------------------
# Lightning indexer


class Indexer(nn.Module):
    """Scores every earlier token for each query: I[t, s] = sum_h w[t, h] * relu(q[t, h] . k[s])."""

    def __init__(self, cfg: DSAConfig):
        super().__init__()
        self.cfg = cfg
        self.n_heads, self.head_dim, self.rope_dim = cfg.index_n_heads, cfg.index_head_dim, cfg.qk_rope_head_dim
        self.wq_b = nn.Linear(cfg.q_lora_rank, self.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(cfg.dim, self.head_dim, bias=False)
        self.k_norm = LayerNorm(self.head_dim, eps=cfg.norm_eps)
        self.weights_proj = nn.Linear(cfg.dim, self.n_heads, bias=False)
        self.register_buffer("k_cache", None, persistent=False)

    def setup_cache(self, max_batch_size: int, max_seq_len: int) -> None:
        """Keys as the score uses them (after RoPE and FP8 rounding), float32, one per token."""
        self.k_cache = torch.zeros(max_batch_size, max_seq_len, self.head_dim, device=self.wk.weight.device)

    def _rope_first_dims(self, x: Tensor, freqs: Tensor) -> Tensor:
        """Non-interleaved RoPE on the first rope_dim dims of x [B, S, H, D]; the rest pass through."""
        pe, nope = x.split([self.rope_dim, self.head_dim - self.rope_dim], dim=-1)
        return torch.cat([apply_rope(pe, freqs, interleaved=False), nope], dim=-1)

    def forward(self, x: Tensor, qr: Tensor, start_pos: int, freqs: Tensor, mask: Tensor | None = None) -> Tensor:
        """Index scores [B, S, start_pos + S] (float32) for x [B, S, dim] and its query latent qr [B, S, q_lora_rank].

        mask is added as is (the causal mask, or None when every cached key is visible, as in decode).
        """
        q, k, weights = self.queries_keys(x, qr, start_pos, freqs)
        dots = torch.einsum("bshd,btd->bsht", q.float(), k).relu()
        score = torch.einsum("bsht,bsh->bst", dots, weights)
        return score if mask is None else score + mask

    def cache_keys(self, x: Tensor, start_pos: int, freqs: Tensor) -> Tensor:
        """The keys of x's positions, written to the cache; every key so far [B, start_pos + S, D] (float32).

        Dense passes call this too (without scoring), so a later sparse chunk or decode step finds every earlier key.
        """
        k = self._rope_first_dims(self.k_norm(self.wk(x)).unsqueeze(2), freqs).squeeze(2)
        if self.cfg.index_fp8:
            k = fake_quant_fp8(rotate_activation(k), self.cfg.fp8_block_size, self.cfg.fp8_pow2_scale)
        return extend_cache(self.k_cache, k.float(), start_pos)

    def queries_keys(self, x: Tensor, qr: Tensor, start_pos: int, freqs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """What the score reads: queries [B, S, H, D], every key so far [B, start_pos + S, D] (float32, cached),
        and head weights [B, S, H] (float32, both scales folded in)."""
        bsz, seqlen, _ = x.shape
        q = self._rope_first_dims(self.wq_b(qr).view(bsz, seqlen, self.n_heads, self.head_dim), freqs)
        if self.cfg.index_fp8:
            q = fake_quant_fp8(rotate_activation(q), self.cfg.fp8_block_size, self.cfg.fp8_pow2_scale)
        k = self.cache_keys(x, start_pos, freqs)
        weights = (self.weights_proj(x) * self.n_heads**-0.5).float() * self.head_dim**-0.5
        return q, k, weights


# ---------------------------------------------------------------------------------------------------------------
# MLA with sparse selection


@dataclass
class DSAAux:
    """What the indexer loss needs from one forward: scores, selection, and the main attention summed over heads."""

    index_score: Tensor | None  # [B, S, T], masked (-inf) where not visible; None if the indexer did not run
    keep: Tensor | None  # [B, S, T] bool, the selected set; None on the dense path
    attn_mass: Tensor  # [B, S, T], main attention probabilities summed over heads (detached)


class MLA(nn.Module):
    """Multi-head latent attention with DeepSeek sparse attention: the DSA layer (parameter names as V3.2's)."""

    def __init__(self, cfg: DSAConfig):
        super().__init__()
        if cfg.q_lora_rank <= 0:
            raise ValueError("DSA needs a query latent (q_lora_rank > 0): the indexer reads its queries from it")
        self.cfg = cfg
        self.n_heads = cfg.n_heads
        self.wq_a = nn.Linear(cfg.dim, cfg.q_lora_rank, bias=False)
        self.q_norm = RMSNorm(cfg.q_lora_rank, eps=cfg.norm_eps)
        self.wq_b = nn.Linear(cfg.q_lora_rank, cfg.n_heads * cfg.qk_head_dim, bias=False)
        self.wkv_a = nn.Linear(cfg.dim, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_norm = RMSNorm(cfg.kv_lora_rank, eps=cfg.norm_eps)
        self.wkv_b = nn.Linear(cfg.kv_lora_rank, cfg.n_heads * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.wo = nn.Linear(cfg.n_heads * cfg.v_head_dim, cfg.dim, bias=False)
        self.indexer = Indexer(cfg)
        self.softmax_scale = cfg.softmax_scale
        self.detach_indexer_input = False  # set for sparse training: the indexer then learns only from its KL loss
        # Triton kernels (engine.kernels) for sparse causal inference: None uses them on CUDA when available,
        # True/False force the choice. They have no backward, so passes that record gradients use torch.
        self.use_kernels: bool | None = None
        self.register_buffer("kv_cache", None, persistent=False)
        self.register_buffer("pe_cache", None, persistent=False)

    def setup_cache(self, max_batch_size: int, max_seq_len: int, dtype: torch.dtype | None = None) -> None:
        """Allocate the latent KV cache (kv_lora_rank + qk_rope_head_dim per token) and the indexer's key cache."""
        dtype = dtype or self.wkv_a.weight.dtype
        device = self.wkv_a.weight.device
        self.kv_cache = torch.zeros(max_batch_size, max_seq_len, self.cfg.kv_lora_rank, dtype=dtype, device=device)
        self.pe_cache = torch.zeros(max_batch_size, max_seq_len, self.cfg.qk_rope_head_dim, dtype=dtype, device=device)
        self.indexer.setup_cache(max_batch_size, max_seq_len)

    def forward(
        self,
        x: Tensor,
        start_pos: int,
        freqs: Tensor,
        mask: Tensor | None = None,
        *,
        sparse: bool | None = None,
        absorb: bool | None = None,
        return_aux: bool = False,
    ) -> Tensor | tuple[Tensor, DSAAux]:
        """Attend x [B, S, dim] at positions start_pos.. to itself and the cache; freqs are those S positions' rows.

        mask: additive [S, start_pos + S]; None builds the causal mask. sparse: None selects top-k only when there
        are more keys than index_topk (True/False force it). absorb: None uses the absorbed (decode) path for a
        single token, the expanded (prefill) path otherwise. return_aux also returns what indexer_kl_loss needs.
        """
        bsz, seqlen, _ = x.shape
        end_pos = start_pos + seqlen
        sparse = end_pos > self.cfg.index_topk if sparse is None else sparse
        absorb = seqlen == 1 if absorb is None else absorb

        qr = self.q_norm(self.wq_a(x))
        q = self.wq_b(qr).view(bsz, seqlen, self.n_heads, self.cfg.qk_head_dim)
        q_nope, q_pe = q.split([self.cfg.qk_nope_head_dim, self.cfg.qk_rope_head_dim], dim=-1)
        q_pe = apply_rope(q_pe, freqs, interleaved=True)
        kv, k_pe = self.wkv_a(x).split([self.cfg.kv_lora_rank, self.cfg.qk_rope_head_dim], dim=-1)
        kv = extend_cache(self.kv_cache, self.kv_norm(kv), start_pos)
        k_pe = extend_cache(self.pe_cache, apply_rope(k_pe.unsqueeze(2), freqs, interleaved=True).squeeze(2), start_pos)
        if sparse and mask is None and not return_aux and self._kernels_apply(x):
            return self._attend_sparse_kernels(x, qr, q_nope, q_pe, kv, k_pe, start_pos, freqs)

        if not sparse and self.indexer.k_cache is not None and not return_aux:
            with torch.no_grad():
                self.indexer.cache_keys(x, start_pos, freqs)
        if not sparse and not return_aux and not absorb:
            return self.wo(self._attend_fused(q_nope, q_pe, kv, k_pe, mask, start_pos).flatten(2))
        if mask is None:
            mask = causal_mask(seqlen, start_pos, x.device)
        index_score, keep = None, None
        bias = mask.float().expand(bsz, seqlen, end_pos)
        if sparse or return_aux:
            x_idx, qr_idx = (x.detach(), qr.detach()) if self.detach_indexer_input else (x, qr)
            index_score = self.indexer(x_idx, qr_idx, start_pos, freqs, mask)
        if sparse:
            _, keep = select_topk(index_score, self.cfg.index_topk)
            bias = bias.masked_fill(~keep, float("-inf"))

        attend = self._attend_absorbed if absorb else self._attend_expanded
        out, probs = attend(q_nope, q_pe, kv, k_pe, bias)
        out = self.wo(out.flatten(2))
        if not return_aux:
            return out
        return out, DSAAux(index_score, keep, probs.detach().sum(2))

    def _kernels_apply(self, x: Tensor) -> bool:
        from engine import kernels

        return kernels.apply_to(x, self.use_kernels)

    def _attend_sparse_kernels(self, x, qr, q_nope, q_pe, kv, k_pe, start_pos: int, freqs: Tensor) -> Tensor:
        """Causal sparse attention through the Triton kernels: indexer top-k, then absorbed MLA over the selection."""
        from engine import kernels

        q_idx, k_idx, weights = self.indexer.queries_keys(x, qr, start_pos, freqs)
        indices = kernels.indexer_topk(q_idx, k_idx, weights, start_pos, self.cfg.index_topk)
        w_k, w_v = self._absorb_weights()
        q_latent = torch.einsum("bshd,hdc->bshc", q_nope, w_k)
        out_latent = kernels.sparse_mla_attention(q_latent, q_pe, kv, k_pe, indices, self.softmax_scale)
        return self.wo(torch.einsum("bshc,hdc->bshd", out_latent.to(kv.dtype), w_v).flatten(2))

    def _absorb_weights(self) -> tuple[Tensor, Tensor]:
        """wkv_b split per head into its key half [H, nope, C] and value half [H, v, C]."""
        wkv_b = self.wkv_b.weight.view(self.n_heads, -1, self.cfg.kv_lora_rank)
        w_k, w_v = wkv_b.split([self.cfg.qk_nope_head_dim, self.cfg.v_head_dim], dim=1)
        return w_k, w_v

    def _expanded_qkv(self, q_nope: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Per-head queries, keys and values [B, *, H, D] from the latents (keys share the one RoPE part)."""
        bsz, n_keys, _ = kv.shape
        kv = self.wkv_b(kv).view(bsz, n_keys, self.n_heads, -1)
        k_nope, v = kv.split([self.cfg.qk_nope_head_dim, self.cfg.v_head_dim], dim=-1)
        q = torch.cat([q_nope, q_pe], dim=-1)
        k = torch.cat([k_nope, k_pe.unsqueeze(2).expand(-1, -1, self.n_heads, -1)], dim=-1)
        return q, k, v

    def _attend_expanded(self, q_nope: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor, bias: Tensor):
        """Prefill: up-project the latents to per-head keys and values, then plain attention."""
        q, k, v = self._expanded_qkv(q_nope, q_pe, kv, k_pe)
        scores = torch.einsum("bshd,bthd->bsht", q.float(), k.float()) * self.softmax_scale
        probs = (scores + bias.unsqueeze(2)).softmax(dim=-1)
        return torch.einsum("bsht,bthd->bshd", probs.type_as(v), v), probs

    def _attend_fused(
        self, q_nope: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor, mask: Tensor | None, start_pos: int
    ):
        """Dense prefill through torch SDPA (flash / memory-efficient kernels): the same attention as
        `_attend_expanded` without materialising the [B, S, H, T] scores, for when nobody needs the probabilities."""
        q, k, v = self._expanded_qkv(q_nope, q_pe, kv, k_pe)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2).to(q.dtype)
        causal = mask is None and start_pos == 0 and q.size(2) > 1
        if mask is None and not causal:
            mask = causal_mask(q.size(2), start_pos, q.device)
        attn_mask = None if causal else mask.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal, scale=self.softmax_scale)
        return out.transpose(1, 2)

    def _attend_absorbed(self, q_nope: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor, bias: Tensor):
        """Decode: fold wkv_b's key half into the query and its value half after the sum; keys stay latent."""
        w_k, w_v = self._absorb_weights()
        q_latent = torch.einsum("bshd,hdc->bshc", q_nope, w_k)
        scores = torch.einsum("bshc,btc->bsht", q_latent.float(), kv.float())
        scores = (scores + torch.einsum("bshr,btr->bsht", q_pe.float(), k_pe.float())) * self.softmax_scale
        probs = (scores + bias.unsqueeze(2)).softmax(dim=-1)
        out_latent = torch.einsum("bsht,btc->bshc", probs.type_as(kv), kv)
        return torch.einsum("bshc,hdc->bshd", out_latent, w_v), probs


# ---------------------------------------------------------------------------------------------------------------
# Indexer training loss


def indexer_kl_loss(attn_mass: Tensor, index_score: Tensor, keep: Tensor | None = None) -> Tensor:
    """Mean over queries of KL(p_t || softmax(I_t)), the V3.2 indexer loss.

    attn_mass [B, S, T]: main attention probabilities summed over heads; it is detached and L1-normalised into the
    target p. index_score [B, S, T]: the indexer's scores, -inf where masked. keep: the selected set in sparse
    training (both distributions are restricted to it); None for the dense warm-up (all visible keys).
    """
    p = attn_mass.detach().float()
    score = index_score.float()
    if keep is not None:
        p = p * keep
        score = score.masked_fill(~keep, float("-inf"))
    p = p / p.sum(-1, keepdim=True).clamp_min(1e-12)
    log_q = score.log_softmax(dim=-1)
    kl = torch.where(p > 0, p * (p.clamp_min(1e-30).log() - log_q), torch.zeros_like(p))
    return kl.sum(-1).mean()
