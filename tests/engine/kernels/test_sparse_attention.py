"""The sparse attention kernel against a float64 torch computation over the same selected keys."""

from __future__ import annotations

import pytest
import torch


def random_selection(gen, bsz, seqlen, n_keys, topk):
    """indices [B, S, topk]: distinct keys per row in random order, with a random share of -1 (none) slots."""
    order = torch.rand(bsz, seqlen, n_keys, generator=gen).argsort(-1)[..., :topk].int()
    n_none = torch.randint(0, topk, (bsz, seqlen, 1), generator=gen)
    none = torch.arange(topk)[None, None, :] < n_none
    shuffled = torch.rand(bsz, seqlen, topk, generator=gen).argsort(-1)
    return order.masked_fill(none.gather(-1, shuffled), -1)


def reference(q_latent, q_pe, kv, k_pe, indices, scale):
    """softmax over the selected keys, in float64, by gathering them."""
    valid = indices >= 0
    rows = indices.clamp_min(0).long()
    batch = torch.arange(kv.shape[0])[:, None, None]
    kv_sel, pe_sel = kv.double()[batch, rows], k_pe.double()[batch, rows]  # [B, S, K, *]
    logits = torch.einsum("bshc,bskc->bshk", q_latent.double(), kv_sel)
    logits = (logits + torch.einsum("bshr,bskr->bshk", q_pe.double(), pe_sel)) * scale
    probs = logits.masked_fill(~valid[:, :, None, :], float("-inf")).softmax(-1)
    return torch.einsum("bshk,bskc->bshc", probs, kv_sel)


def inputs(gen, heads, latent, rope, seqlen=24, n_keys=300, topk=40, bsz=2, dtype=torch.float32):
    q_latent = torch.randn(bsz, seqlen, heads, latent, generator=gen)
    q_pe = torch.randn(bsz, seqlen, heads, rope, generator=gen)
    kv = torch.randn(bsz, n_keys, latent, generator=gen)
    k_pe = torch.randn(bsz, n_keys, rope, generator=gen)
    indices = random_selection(gen, bsz, seqlen, n_keys, topk)
    return [x.to(dtype) for x in (q_latent, q_pe, kv, k_pe)] + [indices]


@pytest.mark.parametrize(("heads", "latent", "rope", "topk"), [(4, 32, 8, 40), (20, 128, 16, 100), (16, 512, 64, 70)])
def test_matches_float64_reference_in_float32(device, gen, heads, latent, rope, topk):
    from engine.kernels.sparse_attention import sparse_mla_attention

    args = inputs(gen, heads, latent, rope, topk=topk)
    scale = (latent + rope) ** -0.5
    out = sparse_mla_attention(*[x.to(device) for x in args], scale)
    ref = reference(*args, scale)
    err = (out.cpu().double() - ref).norm() / ref.norm()
    assert err < 1e-5, err


@pytest.mark.parametrize(("heads", "latent", "rope"), [(4, 128, 16), (128, 512, 64)])
def test_bf16_is_within_bf16_rounding(bf16_device, gen, heads, latent, rope):
    from engine.kernels.sparse_attention import sparse_mla_attention

    args = inputs(gen, heads, latent, rope, topk=64, dtype=torch.bfloat16)
    scale = (latent + rope) ** -0.5
    out = sparse_mla_attention(*[x.to(bf16_device) for x in args], scale)
    assert out.dtype == torch.bfloat16
    ref = reference(*args, scale)
    err = (out.cpu().double() - ref).norm() / ref.norm()
    assert err < 1e-2, err


def test_every_output_is_written(device, gen):
    """Poison the output's memory first: empty_like may hand back a block with NaNs, and none must survive."""
    from engine.kernels.sparse_attention import sparse_mla_attention

    args = [x.to(device) for x in inputs(gen, 12, 64, 16)]
    torch.empty_like(args[0]).fill_(float("nan"))  # the freed block is what the kernel's empty_like reuses
    out = sparse_mla_attention(*args, 0.1)
    assert torch.isfinite(out).all()


def test_shape_mismatch_is_a_clear_error(device, gen):
    from engine.kernels.sparse_attention import sparse_mla_attention

    q_latent, q_pe, kv, k_pe, indices = (x.to(device) for x in inputs(gen, 4, 32, 8))
    with pytest.raises(ValueError, match="disagree"):
        sparse_mla_attention(q_latent, q_pe, kv[..., :16], k_pe, indices, 0.1)


def test_more_queries_than_one_grid_axis_holds(bf16_device, gen):
    """CUDA's second and third grid axes stop at 65535; a long prefill has a program per query beyond that."""
    from engine.kernels.sparse_attention import sparse_mla_attention

    args = inputs(gen, 4, 32, 16, seqlen=70_000, n_keys=64, topk=16, bsz=1, dtype=torch.bfloat16)
    out = sparse_mla_attention(*[x.to(bf16_device) for x in args], 0.2)
    ref = reference(*[x[:, -50:] if x.shape[1] == 70_000 else x for x in args], 0.2)
    err = (out[:, -50:].cpu().double() - ref).norm() / ref.norm()
    assert err < 1e-2, err


def test_queries_laid_out_head_major(device, gen):
    """einsum may return q_latent as a [B, H, S, C] tensor seen as [B, S, H, C]: strides, not layout, must count."""
    from engine.kernels.sparse_attention import sparse_mla_attention

    q_latent, q_pe, kv, k_pe, indices = inputs(gen, 6, 32, 16)
    head_major = q_latent.transpose(1, 2).contiguous().transpose(1, 2)
    assert head_major.stride(2) > head_major.stride(1)
    out = sparse_mla_attention(*[x.to(device) for x in (head_major, q_pe, kv, k_pe, indices)], 0.2)
    ref = reference(q_latent, q_pe, kv, k_pe, indices, 0.2)
    assert ((out.cpu().double() - ref).norm() / ref.norm()) < 1e-5
