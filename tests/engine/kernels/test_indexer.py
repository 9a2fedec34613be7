"""The indexer kernel (scores + causal top-k) against the plain torch Indexer and select_topk."""

from __future__ import annotations

import pytest
import torch

from engine.model.dsa import DSAConfig, Indexer, causal_mask, precompute_freqs, select_topk


def indexer_inputs(gen, device, seqlen, start_pos, heads=8, head_dim=32, bsz=2, dtype=torch.float32):
    """Queries, keys and weights as the torch Indexer makes them, plus its own masked scores (float32)."""
    cfg = DSAConfig(
        dim=64, q_lora_rank=32, index_n_heads=heads, index_head_dim=head_dim, qk_rope_head_dim=16, max_seq_len=512
    )
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    indexer = Indexer(cfg).to(device=device, dtype=dtype)
    total = start_pos + seqlen
    x = torch.randn(bsz, total, cfg.dim, generator=gen).to(device=device, dtype=dtype)
    qr = torch.randn(bsz, total, cfg.q_lora_rank, generator=gen).to(device=device, dtype=dtype)
    freqs = precompute_freqs(cfg).to(device)
    with torch.no_grad():
        if start_pos:  # fill the key cache with the prefix, then score the continuing chunk
            indexer.setup_cache(bsz, total)
            indexer(x[:, :start_pos], qr[:, :start_pos], 0, freqs[:start_pos])
        rows = slice(start_pos, total)
        q, k, w = indexer.queries_keys(x[:, rows], qr[:, rows], start_pos, freqs[rows])
        ref = indexer(x[:, rows], qr[:, rows], start_pos, freqs[rows], causal_mask(seqlen, start_pos, device))
    return q, k, w, ref


@pytest.mark.parametrize(("seqlen", "start_pos"), [(100, 0), (45, 37), (1, 130)])
def test_scores_match_torch_indexer_in_float32(device, gen, seqlen, start_pos):
    from engine.kernels.indexer import index_scores

    q, k, w, ref = indexer_inputs(gen, device, seqlen, start_pos)
    out = index_scores(q, k, w, start_pos)
    assert torch.equal(torch.isinf(out), torch.isinf(ref)), "the causal mask differs"
    finite = torch.isfinite(ref)
    err = (out[finite] - ref[finite]).norm() / ref[finite].norm()
    assert err < 1e-5, err


def test_bf16_scores_match_formula_on_bf16_inputs(bf16_device, gen):
    """bf16 queries: products on the tensor cores, so compare with the formula on bf16-rounded inputs in float64."""
    from engine.kernels.indexer import index_scores

    device = bf16_device
    q, k, w, _ = indexer_inputs(gen, device, 96, 0, dtype=torch.bfloat16)
    out = index_scores(q, k, w, 0)
    dots = torch.einsum("bshd,btd->bsht", q.double(), k.to(torch.bfloat16).double()).relu()
    ref = torch.einsum("bsht,bsh->bst", dots, w.double()) + causal_mask(96, 0, device).double()
    finite = torch.isfinite(ref)
    assert torch.equal(torch.isfinite(out), finite)
    err = (out[finite].double() - ref[finite]).norm() / ref[finite].norm()
    assert err < 1e-5, err


def assert_same_topk(picked: torch.Tensor, scores: torch.Tensor, topk: int) -> None:
    """picked [B, S, K] (-1 = none) holds exactly a top-k of each row of scores [B, S, T] (-inf = not visible).

    Where the k-th and (k+1)-th scores differ, the set must be select_topk's; within a tie any member will do, so
    there only the multiset of selected scores must match.
    """
    ref_idx, keep = select_topk(scores, topk)
    width = ref_idx.shape[-1]
    assert picked.shape == ref_idx.shape
    for b, row in torch.nonzero(torch.ones(scores.shape[:2])).tolist():
        want = set(torch.nonzero(keep[b, row]).flatten().tolist())
        got = picked[b, row]
        got_set = set(got[got >= 0].tolist())
        assert len(got_set) == int((got >= 0).sum()), f"row {row}: an index is repeated"
        assert len(got_set) == len(want), f"row {row}: {len(got_set)} picked, {len(want)} visible in the top-k"
        assert max(got_set) <= scores.shape[-1] - scores.shape[1] + row, f"row {row}: a future key was picked"
        ordered = scores[b, row].sort(descending=True).values
        tie = width < ordered.numel() and torch.isfinite(ordered[width]) and ordered[width - 1] == ordered[width]
        if tie:
            got_scores = scores[b, row, sorted(got_set)].sort().values
            assert torch.equal(got_scores, scores[b, row, sorted(want)].sort().values), f"row {row}"
        else:
            assert got_set == want, f"row {row}: {sorted(got_set ^ want)} differ"


# the last three have more than 2 * topk groups of 16 keys, so they take the two-stage (group maxima) top-k
TOPK_CASES = [(150, 0, 16), (40, 90, 32), (1, 200, 64), (20, 0, 64), (300, 0, 4), (50, 400, 8), (1, 500, 8)]


@pytest.mark.parametrize(("seqlen", "start_pos", "topk"), TOPK_CASES)
def test_topk_is_select_topk_of_the_scores(device, gen, seqlen, start_pos, topk):
    from engine.kernels.indexer import index_scores, indexer_topk

    q, k, w, _ = indexer_inputs(gen, device, seqlen, start_pos)
    picked = indexer_topk(q, k, w, start_pos, topk)
    assert picked.dtype == torch.int32
    assert_same_topk(picked.cpu(), index_scores(q, k, w, start_pos).cpu(), topk)


def test_topk_in_several_chunks_equals_one_chunk(device, gen):
    from engine.kernels.indexer import index_scores, indexer_topk

    q, k, w, _ = indexer_inputs(gen, device, 200, 0)
    for topk in (24, 4):  # one chunk-wide top-k, then the two-stage one in the later chunks
        picked = indexer_topk(q, k, w, 0, topk, chunk_elements=64 * 2 * 208)  # 64-row chunks
        assert_same_topk(picked.cpu(), index_scores(q, k, w, 0).cpu(), topk)


def test_bad_shapes_are_clear_errors(device, gen):
    from engine.kernels.indexer import indexer_topk

    q, k, w, _ = indexer_inputs(gen, device, 10, 0)
    with pytest.raises(ValueError, match="keys"):
        indexer_topk(q, k[:, :5], w, 0, 4)
    with pytest.raises(ValueError, match="topk"):
        indexer_topk(q, k, w, 0, 0)
