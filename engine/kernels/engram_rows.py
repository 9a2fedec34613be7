"""Engram rows gathered by the GPU straight out of a table in pinned host memory (zero-copy over PCIe).

With the table on the host, the plain path hashes on the host, gathers rows there with the CPU and copies them
over; its host work stalls the launch of the next kernels. Here the hash ids stay on the GPU (where the decoder
computes them anyway) and each program reads its rows from the mapped host table: only the rows cross the bus,
32 bytes per row of a 16-wide bf16 head, and the CPU does nothing. A table on the GPU works the same way.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor


@triton.jit
def _gather_kernel(
    table_ptr, offsets_ptr, ids_ptr, out_ptr, n_rows, n_heads, width,
    WP: tl.constexpr, BLOCK_R: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, WP)
    ok = rows < n_rows
    head = rows % n_heads
    index = tl.load(ids_ptr + rows, mask=ok, other=0) + tl.load(offsets_ptr + head, mask=ok, other=0)
    mask = ok[:, None] & (cols[None, :] < width)
    values = tl.load(table_ptr + index.to(tl.int64)[:, None] * width + cols[None, :], mask=mask)
    tl.store(out_ptr + rows[:, None] * width + cols[None, :], values, mask=mask)


def engram_gather(table: Tensor, offsets: Tensor, hash_ids: Tensor) -> Tensor:
    """Rows [..., heads, width] of `table` [rows, width] for per-head hash ids [..., heads], on the ids' device.

    `offsets` [heads] are each head's first row (MultiHeadEmbedding.offsets), on the ids' device. The table may
    be on that device or in pinned host memory (which CUDA maps into the GPU's address space).
    """
    if table.dim() != 2 or offsets.dim() != 1 or hash_ids.shape[-1:] != offsets.shape:
        raise ValueError(f"want table [rows, width], offsets [heads], hash_ids [..., heads]; got "
                         f"{tuple(table.shape)}, {tuple(offsets.shape)}, {tuple(hash_ids.shape)}")  # fmt: skip
    if table.device.type == "cpu" and hash_ids.device.type == "cuda" and not table.is_pinned():
        raise ValueError("a host table must be in pinned memory for the GPU to read it")
    table = table.contiguous()
    ids = hash_ids.contiguous()
    out = torch.empty(*hash_ids.shape, table.shape[1], dtype=table.dtype, device=hash_ids.device)
    n_rows, block_r = ids.numel(), 128
    _gather_kernel[(triton.cdiv(n_rows, block_r),)](
        table, offsets.to(ids.device), ids, out, n_rows, offsets.numel(), table.shape[1],
        WP=triton.next_power_of_2(table.shape[1]), BLOCK_R=block_r,
    )  # fmt: skip
    return out
