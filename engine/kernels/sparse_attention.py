"""Attention of each query over its selected keys only, in MLA's absorbed (MQA) form, for prefill and decode alike.

Every head of a query shares one latent key/value per token (kv_lora_rank numbers, plus the RoPE key), as in
DeepSeek-V3.2's own sparse kernels: a program takes one query and a block of heads, gathers BLOCK_K selected
latent rows at a time, scores them on the tensor cores (bf16 in, float32 accumulate) and keeps an online softmax,
so the selected rows are read once per head block and nothing of size S x T ever exists. Index -1 means "no key".
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

from .tuning import tuned_configs

LOG2E = 1.4426950408889634

# (heads, selected keys) per step; BLOCK_H larger than the heads is pruned. Every head block gathers the same rows,
# so more heads per program means fewer gathers, at the price of registers for the [BLOCK_H, C] accumulator.
_CONFIGS = [
    triton.Config({"BLOCK_H": bh, "BLOCK_K": bk}, num_warps=w, num_stages=2)
    for bh, bk, w in [(16, 32, 4), (16, 64, 4), (32, 32, 4), (32, 64, 8), (64, 32, 8), (64, 64, 8)]
]


def _prune(configs, named_args, **kwargs):
    heads = max(16, triton.next_power_of_2(named_args["n_heads"]))
    kept = [c for c in configs if c.kwargs["BLOCK_H"] <= heads]
    return kept or configs[:1]


@triton.autotune(
    configs=tuned_configs(_CONFIGS), key=["n_heads", "C", "R", "EXACT"], prune_configs_by={"early_config_prune": _prune}
)
@triton.jit
def _sparse_mla_kernel(
    q_ptr, qpe_ptr, kv_ptr, pe_ptr, idx_ptr, out_ptr,
    n_heads, n_sel, scale_log2,
    stride_qb, stride_qs, stride_qh,
    stride_pb, stride_ps, stride_ph,
    stride_kb, stride_kt,
    stride_eb, stride_et,
    stride_ib, stride_is,
    stride_ob, stride_os, stride_oh,
    C: tl.constexpr, CP: tl.constexpr, R: tl.constexpr, RP: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_K: tl.constexpr, EXACT: tl.constexpr,
):  # fmt: skip
    # axis 0 walks (query, head block) with the head blocks of one query adjacent, so they share the gathered rows
    # in L2; it is the only grid axis that may exceed 65535 (one program per query of a 1M-token prefill).
    pid = tl.program_id(0)
    pid_h = pid % tl.cdiv(n_heads, BLOCK_H)
    s = (pid // tl.cdiv(n_heads, BLOCK_H)).to(tl.int64)
    b = tl.program_id(1).to(tl.int64)
    heads = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    c = tl.arange(0, CP)
    r = tl.arange(0, RP)
    h_ok = heads < n_heads
    q_mask = h_ok[:, None] & (c[None, :] < C)
    dtype = tl.float32 if EXACT else tl.bfloat16
    # 64-bit offsets throughout: einsum hands back q_latent laid out [B, H, S, C], where head 127's offset at
    # 128K tokens is 127 * 131072 * 512, past 2^31
    head_off = heads.to(tl.int64)[:, None]
    q = tl.load(q_ptr + b * stride_qb + s * stride_qs + head_off * stride_qh + c[None, :], mask=q_mask, other=0.0)
    q = q.to(dtype)
    pe_mask = h_ok[:, None] & (r[None, :] < R)
    q_pe = tl.load(
        qpe_ptr + b * stride_pb + s * stride_ps + head_off * stride_ph + r[None, :], mask=pe_mask, other=0.0
    ).to(dtype)

    m = tl.full((BLOCK_H,), float("-inf"), dtype=tl.float32)
    denom = tl.zeros((BLOCK_H,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_H, CP), dtype=tl.float32)
    idx_base = idx_ptr + b * stride_ib + s * stride_is
    for k0 in range(0, n_sel, BLOCK_K):
        slots = k0 + tl.arange(0, BLOCK_K)
        idx = tl.load(idx_base + slots, mask=slots < n_sel, other=-1)
        ok = idx >= 0
        rows = tl.where(ok, idx, 0).to(tl.int64)
        kv = tl.load(
            kv_ptr + b * stride_kb + rows[:, None] * stride_kt + c[None, :],
            mask=ok[:, None] & (c[None, :] < C),
            other=0.0,
        ).to(dtype)
        pe = tl.load(
            pe_ptr + b * stride_eb + rows[:, None] * stride_et + r[None, :],
            mask=ok[:, None] & (r[None, :] < R),
            other=0.0,
        ).to(dtype)
        if EXACT:
            logits = tl.dot(q, tl.trans(kv), input_precision="ieee")
            logits += tl.dot(q_pe, tl.trans(pe), input_precision="ieee")
        else:
            logits = tl.dot(q, tl.trans(kv)) + tl.dot(q_pe, tl.trans(pe))
        logits = tl.where(ok[None, :], logits * scale_log2, float("-inf"))
        m_new = tl.maximum(m, tl.max(logits, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # no key yet: keep exp2 finite
        p = tl.exp2(logits - m_safe[:, None])
        alpha = tl.exp2(m - m_safe)
        denom = denom * alpha + tl.sum(p, 1)
        if EXACT:
            acc = acc * alpha[:, None] + tl.dot(p, kv, input_precision="ieee")
        else:
            acc = acc * alpha[:, None] + tl.dot(p.to(tl.bfloat16), kv)
        m = m_new
    out = acc / tl.where(denom > 0, denom, 1.0)[:, None]
    o_ptrs = out_ptr + b * stride_ob + s * stride_os + head_off * stride_oh + c[None, :]
    tl.store(o_ptrs, out.to(out_ptr.dtype.element_ty), mask=q_mask)


def _pow2(n: int) -> int:
    return max(16, triton.next_power_of_2(n))


def sparse_mla_attention(
    q_latent: Tensor, q_pe: Tensor, kv: Tensor, k_pe: Tensor, indices: Tensor, softmax_scale: float
) -> Tensor:
    """softmax(scale * (q_latent . kv_j + q_pe . k_pe_j)) over the selected j, applied to kv_j: [B, S, H, C].

    q_latent [B, S, H, C] (the nope query folded through wkv_b's key half), q_pe [B, S, H, R], kv [B, T, C],
    k_pe [B, T, R], indices [B, S, K] (int, -1 for none). The output has q_latent's dtype; float32 queries are
    computed in float32 throughout, others with bf16 products.
    """
    if q_latent.dim() != 4 or q_pe.dim() != 4 or kv.dim() != 3 or k_pe.dim() != 3 or indices.dim() != 3:
        raise ValueError("want q_latent, q_pe [B, S, H, *], kv, k_pe [B, T, *] and indices [B, S, K]")
    bsz, seqlen, heads, latent = q_latent.shape
    rope = q_pe.shape[-1]
    if q_pe.shape[:3] != q_latent.shape[:3] or kv.shape[-1] != latent or k_pe.shape[-1] != rope:
        raise ValueError(f"shapes disagree: q_latent {tuple(q_latent.shape)}, q_pe {tuple(q_pe.shape)}, "
                         f"kv {tuple(kv.shape)}, k_pe {tuple(k_pe.shape)}")  # fmt: skip
    if kv.shape[:2] != k_pe.shape[:2] or kv.shape[0] != bsz or indices.shape[:2] != (bsz, seqlen):
        raise ValueError(f"batch or length disagree: kv {tuple(kv.shape)}, k_pe {tuple(k_pe.shape)}, "
                         f"indices {tuple(indices.shape)}, queries {tuple(q_latent.shape[:2])}")  # fmt: skip
    q_latent, q_pe, kv, k_pe, indices = (
        x if x.stride(-1) == 1 else x.contiguous() for x in (q_latent, q_pe, kv, k_pe, indices)
    )
    out = torch.empty_like(q_latent)

    def grid(meta):
        return (triton.cdiv(heads, meta["BLOCK_H"]) * seqlen, bsz)

    _sparse_mla_kernel[grid](
        q_latent, q_pe, kv, k_pe, indices, out,
        heads, indices.shape[-1], softmax_scale * LOG2E,
        q_latent.stride(0), q_latent.stride(1), q_latent.stride(2),
        q_pe.stride(0), q_pe.stride(1), q_pe.stride(2),
        kv.stride(0), kv.stride(1),
        k_pe.stride(0), k_pe.stride(1),
        indices.stride(0), indices.stride(1),
        out.stride(0), out.stride(1), out.stride(2),
        C=latent, CP=_pow2(latent), R=rope, RP=_pow2(rope), EXACT=q_latent.dtype == torch.float32,
    )  # fmt: skip
    return out
