"""The DSA layer with its Triton kernel path against its own torch path: prefill, chunked prefill and decode."""

from __future__ import annotations

import torch

from engine.model.dsa import MLA, DSAConfig, precompute_freqs


def layer(gen, device, heads=4, dtype=torch.float32):
    cfg = DSAConfig(
        dim=64, n_heads=heads, q_lora_rank=32, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
        v_head_dim=16, index_n_heads=8, index_head_dim=16, index_topk=16, max_seq_len=256,
    )  # fmt: skip
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    mla = MLA(cfg)
    for p in mla.parameters():  # default init leaves the norms at one; spread every weight
        p.data.normal_(0, 0.3 if p.dim() > 1 else 1.0)
    return mla.to(device=device, dtype=dtype).eval(), precompute_freqs(cfg).to(device)


def run(mla, x, start_pos, freqs, kernels: bool):
    mla.use_kernels = kernels
    with torch.no_grad():
        return mla(x, start_pos, freqs[start_pos : start_pos + x.shape[1]])


def test_prefill_kernels_match_torch(device, gen):
    mla, freqs = layer(gen, device, heads=6)
    x = torch.randn(2, 90, 64, generator=gen).to(device)
    ref, out = run(mla, x, 0, freqs, False), run(mla, x, 0, freqs, True)
    err = (out - ref).norm() / ref.norm()
    assert err < 1e-4, err


def test_cached_chunk_and_decode_kernels_match_torch(device, gen):
    mla, freqs = layer(gen, device)
    x = torch.randn(1, 70, 64, generator=gen).to(device)
    mla.setup_cache(1, 128)
    run(mla, x[:, :40], 0, freqs, True)
    for start, end in [(40, 64), (64, 65), (65, 66), (66, 70)]:  # a chunk, two decode steps, a chunk
        ref = run(mla, x[:, start:end], start, freqs, False)
        out = run(mla, x[:, start:end], start, freqs, True)
        err = (out - ref).norm() / ref.norm()
        assert err < 1e-4, (start, err)


def test_kernels_are_the_default_only_on_cuda_without_grad(device, gen):
    mla, freqs = layer(gen, device)
    x = torch.randn(1, 50, 64, generator=gen).to(device)
    expected = run(mla, x, 0, freqs, device == "cuda")
    mla.use_kernels = None
    with torch.no_grad():
        assert torch.equal(mla(x, 0, freqs[:50]), expected)
    with torch.enable_grad():  # training passes keep the torch path, which has a backward
        out = mla(x.requires_grad_(), 0, freqs[:50])
    assert out.grad_fn is not None
    assert torch.allclose(out.detach(), run(mla, x.detach(), 0, freqs, False), atol=1e-6)
