"""DSA against the official DeepSeek-V3.2-Exp reference vectors (tests/fixtures/reference/dsa/, see its README).

The reference ran in bfloat16 with Linear weights in bf16 and norm weights in float32; ``build`` loads the same way.
Tolerances: index scores 1e-5 absolute (float32 formula and FP8 simulation, both measured exact); attention outputs
0.02 absolute (bf16 resolution at the outputs' magnitude ~2.6 is 0.0156; measured exact).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pytest
import torch
from torch import nn

from engine.model.dsa import (
    MLA,
    DSAConfig,
    apply_rope,
    causal_mask,
    fake_quant_fp8,
    hadamard_matrix,
    indexer_kl_loss,
    precompute_freqs,
    select_topk,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "reference" / "dsa" / "dsa_mla_indexer_small.json"
SCORE_TOL = 1e-5
OUT_TOL = 0.02


@cache
def reference() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def config(**overrides) -> DSAConfig:
    args = reference()["model_args"]
    fields = {k: v for k, v in args.items() if k in DSAConfig.__dataclass_fields__}
    return DSAConfig(**{**fields, "fp8_block_size": reference()["fp8_block_size"], **overrides})


def build(dtype: torch.dtype = torch.bfloat16, **overrides) -> MLA:
    """The reference layer: its weights, Linear layers in dtype, norms kept in float32."""
    model = MLA(config(**overrides))
    model.load_state_dict({k: torch.tensor(v) for k, v in reference()["state_dict"].items()})
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.to(dtype)
    return model.eval()


def x_ref(dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    return torch.tensor(reference()["x_bf16"]).to(dtype)


def freqs_for(model: MLA, start: int, end: int) -> torch.Tensor:
    return precompute_freqs(model.cfg)[start:end]


def selected(keep_row: torch.Tensor) -> set[int]:
    return set(keep_row.nonzero().flatten().tolist())


def test_config_matches_reference_scale():
    assert config().softmax_scale == pytest.approx(reference()["softmax_scale_mla"], rel=1e-7)


@torch.no_grad()
def test_index_scores_match_fp32_formula():
    """The plain formula, in float32, on the attention's query latent as the bf16 layer produces it."""
    ref = torch.tensor([[math.nan if v is None else v for v in row] for row in reference()["index_score_ref_fp32"]])
    visible = ~ref.isnan()
    bf16, fp32 = build(torch.bfloat16), build(torch.float32)
    x = x_ref()
    qr = bf16.q_norm(bf16.wq_a(x)).float()
    seqlen = x.size(1)
    score = fp32.indexer(x.float(), qr, 0, freqs_for(fp32, 0, seqlen), causal_mask(seqlen, 0))[0]
    assert (score[visible] - ref[visible]).abs().max().item() <= SCORE_TOL
    assert torch.isneginf(score[~visible]).all()
    assert visible.equal(torch.ones(seqlen, seqlen).tril().bool())


@torch.no_grad()
def test_index_scores_match_fp8_simulation():
    model = build(index_fp8=True)
    x = x_ref()
    qr = model.q_norm(model.wq_a(x))
    score = model.indexer(x, qr, 0, freqs_for(model, 0, x.size(1)), None)[0]
    ref = torch.tensor(reference()["prefill_index_score_fp8sim_before_mask"])
    assert (score - ref).abs().max().item() <= SCORE_TOL


@torch.no_grad()
def test_prefill_topk_sets_and_output():
    model = build(index_fp8=True)
    x = x_ref()
    seqlen, topk = x.size(1), model.cfg.index_topk
    out, aux = model(x, 0, freqs_for(model, 0, seqlen), return_aux=True)
    for t, ref_row in enumerate(reference()["prefill_topk_indices"]):
        # The reference's raw top-k names future slots in rows t < topk; the attention masks them again.
        assert selected(aux.keep[0, t]) == {i for i in ref_row if i <= t}, f"row {t}"
        assert len(selected(aux.keep[0, t])) == min(topk, t + 1)
    assert (out.float() - torch.tensor(reference()["prefill_output"])).abs().max().item() <= OUT_TOL


@torch.no_grad()
def test_selected_set_is_remasked_causally():
    model = build(index_fp8=True)
    x = x_ref()
    seqlen = x.size(1)
    qr = model.q_norm(model.wq_a(x))
    score = model.indexer(x, qr, 0, freqs_for(model, 0, seqlen), causal_mask(seqlen, 0))
    indices, keep = select_topk(score, model.cfg.index_topk)
    rows = torch.arange(seqlen)[:, None]
    assert (indices[0] > rows).any(), "raw top-k of early rows should name future slots (otherwise this proves nothing)"
    assert not (keep[0] & (torch.arange(seqlen)[None, :] > rows)).any()
    assert keep[0].sum(-1).tolist() == [min(model.cfg.index_topk, t + 1) for t in range(seqlen)]


@torch.no_grad()
def test_decode_through_absorbed_path_matches_reference():
    model = build(index_fp8=True)
    x = x_ref()
    prefix, seqlen = reference()["decode_prefix_len"], x.size(1)
    model.setup_cache(max_batch_size=1, max_seq_len=model.cfg.max_seq_len)
    model(x[:, :prefix], 0, freqs_for(model, 0, prefix))
    outs = []
    for step, t in enumerate(range(prefix, seqlen)):
        out, aux = model(x[:, t : t + 1], t, freqs_for(model, t, t + 1), return_aux=True)
        assert selected(aux.keep[0, 0]) == set(reference()["decode_topk_indices"][step]), f"step {step}"
        outs.append(out)
    decoded = torch.cat(outs, dim=1).float()
    assert (decoded - torch.tensor(reference()["decode_output"])).abs().max().item() <= OUT_TOL
    assert (decoded - torch.tensor(reference()["prefill_output"])[:, prefix:]).abs().max().item() <= OUT_TOL


@torch.no_grad()
def test_chunked_prefill_from_cache_matches_reference():
    model = build(index_fp8=True)
    x = x_ref()
    prefix, seqlen = reference()["decode_prefix_len"], x.size(1)
    model.setup_cache(max_batch_size=1, max_seq_len=model.cfg.max_seq_len)
    model(x[:, :prefix], 0, freqs_for(model, 0, prefix))
    rest = model(x[:, prefix:], prefix, freqs_for(model, prefix, seqlen))
    assert (rest.float() - torch.tensor(reference()["prefill_output"])[:, prefix:]).abs().max().item() <= OUT_TOL


@torch.no_grad()
def test_dense_path_matches_reference_rows_before_topk():
    """Rows t < topk select every earlier token, so dense attention must give the reference rows exactly."""
    model = build(index_fp8=True)
    x = x_ref()
    topk = model.cfg.index_topk
    out = model(x, 0, freqs_for(model, 0, x.size(1)), sparse=False)
    ref = torch.tensor(reference()["prefill_output"])
    assert (out[:, :topk].float() - ref[:, :topk]).abs().max().item() <= OUT_TOL
    assert (out[:, topk:].float() - ref[:, topk:]).abs().max().item() > OUT_TOL  # later rows really are sparse


@torch.no_grad()
def test_dense_equals_sparse_when_topk_covers_sequence():
    x = x_ref(torch.float32)
    model = build(torch.float32, index_topk=x.size(1))
    freqs = freqs_for(model, 0, x.size(1))
    dense, aux_dense = model(x, 0, freqs, return_aux=True)  # auto: end_pos <= topk takes the dense path
    sparse, aux_sparse = model(x, 0, freqs, sparse=True, return_aux=True)
    assert aux_dense.keep is None and aux_sparse.keep is not None
    torch.testing.assert_close(sparse, dense, rtol=0, atol=1e-6)


@torch.no_grad()
def test_absorbed_and_expanded_paths_agree_in_float32():
    x = x_ref(torch.float32)
    model = build(torch.float32)
    freqs = freqs_for(model, 0, x.size(1))
    expanded = model(x, 0, freqs, absorb=False)
    absorbed = model(x, 0, freqs, absorb=True)
    torch.testing.assert_close(absorbed, expanded, rtol=0, atol=1e-5)
    # Rows before topk do not depend on the selection; later float32 rows may pick differently at near-ties.
    topk = model.cfg.index_topk
    ref = torch.tensor(reference()["prefill_output"])
    assert (expanded[:, :topk] - ref[:, :topk]).abs().max().item() <= OUT_TOL


def test_non_interleaved_rope_rotates_halves():
    """Independent formula: x * cos + rotate_half(x) * sin, the convention of the indexer after the RoPE fix."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, 8)
    angles = torch.rand(5, 4) * 6
    freqs = torch.polar(torch.ones_like(angles), angles)
    cos, sin = angles.cos().repeat(1, 2)[None, :, None], angles.sin().repeat(1, 2)[None, :, None]
    rotate_half = torch.cat([-x[..., 4:], x[..., :4]], dim=-1)
    torch.testing.assert_close(apply_rope(x, freqs, interleaved=False), x * cos + rotate_half * sin)
    # Interleaved pairs (0,1): first output is x0 cos - x1 sin.
    inter = apply_rope(x, freqs, interleaved=True)
    torch.testing.assert_close(inter[..., 0], x[..., 0] * cos[..., 0] - x[..., 1] * sin[..., 0])


def test_yarn_only_changes_low_frequencies_when_extended():
    plain = precompute_freqs(DSAConfig(max_seq_len=64, original_seq_len=4096)).angle()
    long = precompute_freqs(DSAConfig(max_seq_len=8192, original_seq_len=4096, rope_factor=40)).angle()
    torch.testing.assert_close(long[1, 0], plain[1, 0])  # the fastest frequency is kept
    torch.testing.assert_close(long[1, -1], plain[1, -1] / 40)  # the slowest is slowed by the factor
    assert DSAConfig(max_seq_len=8192).softmax_scale > DSAConfig(max_seq_len=4096).softmax_scale


def test_fp8_simulation_rounds_to_e4m3_with_power_of_two_scales():
    torch.manual_seed(0)
    x = torch.randn(3, 128) * 5
    y = fake_quant_fp8(x, block_size=64)
    blocks = x.view(3, 2, 64)
    scale = torch.exp2(torch.ceil(torch.log2(blocks.abs().amax(-1, keepdim=True) / 448)))
    codes = y.view(3, 2, 64) / scale
    torch.testing.assert_close(codes, codes.to(torch.float8_e4m3fn).float(), rtol=0, atol=0)  # exactly representable
    assert ((y - x).abs() <= x.abs() * 2**-4 + 1e-6).all()  # e4m3 keeps 3 mantissa bits
    h = hadamard_matrix(64)
    torch.testing.assert_close(h @ h.T, 64 * torch.eye(64))


def test_indexer_kl_loss_values():
    p = torch.tensor([[[0.2, 0.3, 0.5]]])  # head-summed mass; the loss L1-normalises it
    score = torch.tensor([[[0.0, 1.0, 2.0]]])
    expected = torch.nn.functional.kl_div(score.log_softmax(-1), p, reduction="sum")
    torch.testing.assert_close(indexer_kl_loss(3 * p, score), expected)
    assert indexer_kl_loss(p, p.log() + 7.0).abs().item() < 1e-6  # equal distributions
    keep = torch.tensor([[[False, True, True]]])
    restricted = torch.nn.functional.kl_div(score[..., 1:].log_softmax(-1), p[..., 1:] / 0.8, reduction="sum")
    torch.testing.assert_close(indexer_kl_loss(p, score, keep), restricted)
    masked = torch.tensor([[[0.0, 1.0, float("-inf")]]])
    assert torch.isfinite(indexer_kl_loss(torch.tensor([[[0.5, 0.5, 0.0]]]), masked))


@pytest.mark.parametrize("detach", [False, True])
def test_indexer_loss_trains_indexer_and_detach_cuts_the_model(detach):
    torch.manual_seed(0)
    model = build(torch.float32)
    model.detach_indexer_input = detach
    x = x_ref(torch.float32).requires_grad_(True)
    out, aux = model(x, 0, freqs_for(model, 0, x.size(1)), sparse=True, return_aux=True)
    loss = indexer_kl_loss(aux.attn_mass, aux.index_score, aux.keep)
    assert loss.item() > 0
    loss.backward()
    assert model.indexer.wq_b.weight.grad is not None and model.indexer.wq_b.weight.grad.abs().sum() > 0
    assert model.indexer.weights_proj.weight.grad.abs().sum() > 0
    reached_model = model.wq_a.weight.grad is not None
    assert reached_model is not detach
    assert model.wkv_b.weight.grad is None  # the target (main attention) never gets the indexer's gradient
    assert torch.allclose(aux.attn_mass.sum(-1), torch.full_like(aux.attn_mass.sum(-1), model.n_heads))


def test_decode_without_cache_is_a_clear_error():
    model = build(torch.float32)
    with pytest.raises(ValueError, match="setup_cache"):
        model(x_ref(torch.float32)[:, :1], 3, freqs_for(model, 3, 4))
