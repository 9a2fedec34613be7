"""The lightning indexer's scores, causally masked, and an exact top-k over them, chunk by chunk of queries.

``I[t, s] = sum_h w[t, h] * relu(q[t, h] . k[s])`` for keys s <= t (the rest -inf). One Triton program scores a
tile of BLOCK_M queries x BLOCK_N keys: the key tile is loaded once and reused by every head, q . k runs on the
tensor cores (bf16 in, float32 accumulate; float32 queries are scored in float32), and tiles wholly above the
diagonal are filled with -inf without any arithmetic. Scores of one chunk of queries (at most ``CHUNK_ELEMENTS``
floats) go through a two-stage exact top-k: the kernel also writes each group of 16 keys' largest score, torch.topk
picks the k groups with the largest maxima, and the final top-k reads only their 16 k scores (a row of T keys
would otherwise be read several times over by the radix select). Only the visible prefix of the keys is scored for
a chunk, so a prefill of S tokens holds at most one chunk, never S x S. ``WHOLEREPO_INDEXER_GROUPS=0`` turns the
two-stage top-k off (one torch.topk over the whole chunk).
The selection is exact for the scores the kernel computes (ties at a zero score go to the earliest keys, as in
``select_topk``); slots past a row's visible keys come back as -1.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl
from torch import Tensor

from .tuning import tuned_configs

CHUNK_ELEMENTS = 1 << 30  # floats of scores held at once (4 GiB)
GROUP = 16  # keys per group whose largest score the kernel also writes, for a two-stage top-k

# Tile shapes tried on the first call for each (heads, head dim, precision); see tuning.py for when only the first.
# The score of a query tile against a key tile reads q once per head: BLOCK_N flops per byte of q.
_CONFIGS = [
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 128}, num_warps=4, num_stages=2),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 256}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128}, num_warps=8, num_stages=3),
]


def _pow2(n: int) -> int:
    """Padded width for a tl.dot operand: a power of two, at least 16."""
    return max(16, triton.next_power_of_2(n))


@triton.autotune(configs=tuned_configs(_CONFIGS), key=["H", "D", "EXACT"])
@triton.jit
def _index_scores_kernel(
    q_ptr, k_ptr, w_ptr, out_ptr, gmax_ptr,
    n_rows, n_keys, n_out, row0, pos0,
    stride_qb, stride_qs, stride_qh,
    stride_kb, stride_kt,
    stride_wb, stride_ws,
    stride_ob, stride_os,
    stride_gb, stride_gs,
    H: tl.constexpr, D: tl.constexpr, DP: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
    EXACT: tl.constexpr, GROUP: tl.constexpr, GROUP_MAX: tl.constexpr,
):  # fmt: skip
    """out[b, i, s] for chunk rows i (query row0 + i, at position pos0 + row0 + i) and columns s < n_out (-inf
    from n_keys on); with GROUP_MAX also gmax[b, i, g], the largest score of columns g * GROUP .. + GROUP - 1."""
    pid_m, pid_n, b = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, DP)
    row_ok = rows < n_rows
    q_pos = pos0 + row0 + rows
    last_pos = pos0 + row0 + tl.minimum(pid_m * BLOCK_M + BLOCK_M, n_rows) - 1

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    if pid_n * BLOCK_N <= last_pos:  # some key of the tile is visible to some row
        k_mask = (cols[None, :] < n_keys) & (dims[:, None] < D)
        k_t = tl.load(
            k_ptr + b * stride_kb + cols.to(tl.int64)[None, :] * stride_kt + dims[:, None], mask=k_mask, other=0.0
        )
        k_t = k_t.to(tl.float32) if EXACT else k_t.to(tl.bfloat16)
        # pointers step from head to head (64-bit arithmetic, whatever the layout of q)
        q_ptrs = q_ptr + b * stride_qb + (row0 + rows).to(tl.int64)[:, None] * stride_qs + dims[None, :]
        q_mask = row_ok[:, None] & (dims[None, :] < D)
        w_ptrs = w_ptr + b * stride_wb + (row0 + rows).to(tl.int64) * stride_ws
        for _ in range(H):
            q = tl.load(q_ptrs, mask=q_mask, other=0.0)
            w = tl.load(w_ptrs, mask=row_ok, other=0.0).to(tl.float32)
            q_ptrs += stride_qh
            w_ptrs += 1
            if EXACT:
                dots = tl.dot(q.to(tl.float32), k_t, input_precision="ieee")
            else:
                dots = tl.dot(q.to(tl.bfloat16), k_t)
            acc += tl.maximum(dots, 0.0) * w[:, None]
    visible = cols[None, :] <= q_pos[:, None]
    acc = tl.where(visible, acc, float("-inf"))
    out_mask = row_ok[:, None] & (cols[None, :] < n_out)
    tl.store(out_ptr + b * stride_ob + rows.to(tl.int64)[:, None] * stride_os + cols[None, :], acc, mask=out_mask)
    if GROUP_MAX:
        groups = pid_n * (BLOCK_N // GROUP) + tl.arange(0, BLOCK_N // GROUP)
        gmax = tl.max(tl.reshape(acc, (BLOCK_M, BLOCK_N // GROUP, GROUP)), axis=2)
        g_mask = row_ok[:, None] & (groups[None, :] < n_out // GROUP)
        g_ptrs = gmax_ptr + b * stride_gb + rows.to(tl.int64)[:, None] * stride_gs + groups[None, :]
        tl.store(g_ptrs, gmax, mask=g_mask)


def _check(q: Tensor, k: Tensor, weights: Tensor, start_pos: int) -> tuple[int, int, int, int, int]:
    if q.dim() != 4 or k.dim() != 3 or weights.dim() != 3:
        raise ValueError(
            f"want q [B, S, H, D], k [B, T, D], weights [B, S, H]; got {q.shape}, {k.shape}, {weights.shape}"
        )
    bsz, seqlen, heads, dim = q.shape
    if k.shape[0] != bsz or k.shape[2] != dim or tuple(weights.shape) != (bsz, seqlen, heads):
        raise ValueError(f"shapes disagree: q {tuple(q.shape)}, k {tuple(k.shape)}, weights {tuple(weights.shape)}")
    if k.shape[1] != start_pos + seqlen:
        raise ValueError(
            f"k holds {k.shape[1]} keys; queries at {start_pos}..{start_pos + seqlen - 1} need all of them"
        )
    if not (q.device == k.device == weights.device):
        raise ValueError("q, k and weights must be on one device")
    return bsz, seqlen, heads, dim, k.shape[1]


def _last_dim_contiguous(x: Tensor) -> Tensor:
    return x if x.stride(-1) == 1 else x.contiguous()


def _launch_scores(
    q: Tensor, k: Tensor, w: Tensor, start_pos: int, row0: int, n_keys: int, out: Tensor, gmax: Tensor | None = None
) -> None:
    """Fill out [B, n_rows, n_out] with the scores of query rows row0.. against the first n_keys keys (-inf past
    them), and gmax [B, n_rows, n_out / GROUP] with each group's largest score when given."""
    heads, dim = q.shape[2], q.shape[3]
    n_rows, n_out = out.shape[1], out.shape[2]
    groups = out if gmax is None else gmax

    def grid(meta):
        return (triton.cdiv(n_rows, meta["BLOCK_M"]), triton.cdiv(n_out, meta["BLOCK_N"]), q.shape[0])

    _index_scores_kernel[grid](
        q, k, w, out, groups,
        n_rows, n_keys, n_out, row0, start_pos,
        q.stride(0), q.stride(1), q.stride(2),
        k.stride(0), k.stride(1),
        w.stride(0), w.stride(1),
        out.stride(0), out.stride(1),
        groups.stride(0), groups.stride(1),
        H=heads, D=dim, DP=_pow2(dim), EXACT=q.dtype == torch.float32, GROUP=GROUP, GROUP_MAX=gmax is not None,
    )  # fmt: skip


def index_scores(q: Tensor, k: Tensor, weights: Tensor, start_pos: int) -> Tensor:
    """All scores [B, S, T] (float32), -inf above the causal diagonal."""
    bsz, seqlen, _, _, n_keys = _check(q, k, weights, start_pos)
    q, k, weights = _last_dim_contiguous(q), _last_dim_contiguous(k), _last_dim_contiguous(weights)
    out = torch.empty(bsz, seqlen, n_keys, dtype=torch.float32, device=q.device)
    _launch_scores(q, k, weights, start_pos, 0, n_keys, out)
    return out


def _topk_through_groups(scores: Tensor, gmax: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The top k of each row of scores [B, R, n], read only from the k groups with the largest maxima.

    Exact: every score above the k-th largest v lies in one of those groups (otherwise k groups, each holding a
    score at least as large, would put it out of the top k), and they hold at least k scores >= v.
    """
    bsz, rows, n_groups = gmax.shape
    _, groups = gmax.topk(k, dim=-1, sorted=False)  # [B, R, k]
    members = scores.view(bsz, rows, n_groups, GROUP).gather(2, groups.unsqueeze(-1).expand(-1, -1, -1, GROUP))
    values, slots = members.flatten(2).topk(k, dim=-1, sorted=False)
    return values, groups.gather(2, slots // GROUP) * GROUP + slots % GROUP


def _prefer_earlier_among_zero_ties(scores: Tensor, values: Tensor, picked: Tensor) -> None:
    """Rows whose k-th score is exactly 0 (a ReLU tie: every head's product was negative) take select_topk's
    choice, the earliest tied keys, so the kernels and the torch path keep the same set; other exact ties
    would need two keys with identical products and are left to torch.topk."""
    rows = torch.nonzero(values.min(dim=-1).values == 0)
    if rows.numel():
        b, s = rows[:, 0], rows[:, 1]
        order = scores[b, s].sort(dim=-1, descending=True, stable=True).indices[:, : picked.shape[-1]]
        picked[b, s] = order
        values[b, s] = scores[b, s].gather(-1, order)


def indexer_topk(
    q: Tensor, k: Tensor, weights: Tensor, start_pos: int, topk: int, chunk_elements: int = CHUNK_ELEMENTS
) -> Tensor:
    """Top-k key indices [B, S, min(topk, T)] (int32, unordered) per query; -1 fills slots beyond the visible keys.

    q [B, S, H, D] are the indexer queries (after RoPE), k [B, T, D] every key so far (T = start_pos + S), weights
    [B, S, H] the per-head weights with the scales folded in. float32 queries are scored in float32 (exact
    products); any other dtype in bf16 on the tensor cores. chunk_elements bounds the scores held at once.
    """
    if topk < 1:
        raise ValueError(f"topk must be positive, got {topk}")
    bsz, seqlen, _, _, n_keys = _check(q, k, weights, start_pos)
    q, k, weights = _last_dim_contiguous(q), _last_dim_contiguous(k), _last_dim_contiguous(weights)
    width = min(topk, n_keys)
    out = torch.full((bsz, seqlen, width), -1, dtype=torch.int32, device=q.device)
    padded = triton.cdiv(n_keys, GROUP) * GROUP
    chunk = min(seqlen, max(64, chunk_elements // (bsz * padded) // 64 * 64))
    buffer = torch.empty(bsz * chunk * padded, dtype=torch.float32, device=q.device)  # one block for all chunks
    group_buffer = torch.empty(bsz * chunk * padded // GROUP, dtype=torch.float32, device=q.device)
    for row0 in range(0, seqlen, chunk):
        n_rows = min(chunk, seqlen - row0)
        n_visible = start_pos + row0 + n_rows  # keys the chunk's last row sees
        n_out = triton.cdiv(n_visible, GROUP) * GROUP
        kk = min(width, n_visible)
        scores = buffer[: bsz * n_rows * n_out].view(bsz, n_rows, n_out)
        if n_out // GROUP > 2 * kk and os.environ.get("WHOLEREPO_INDEXER_GROUPS", "1") != "0":
            gmax = group_buffer[: bsz * n_rows * n_out // GROUP].view(bsz, n_rows, n_out // GROUP)
            _launch_scores(q, k, weights, start_pos, row0, n_visible, scores, gmax)
            values, picked = _topk_through_groups(scores, gmax, kk)
        else:
            _launch_scores(q, k, weights, start_pos, row0, n_visible, scores)
            values, picked = scores.topk(kk, dim=-1, sorted=False)
        _prefer_earlier_among_zero_ties(scores, values, picked)
        picked = picked.to(torch.int32).masked_fill_(values == float("-inf"), -1)
        out[:, row0 : row0 + n_rows, : picked.shape[-1]] = picked
    return out
