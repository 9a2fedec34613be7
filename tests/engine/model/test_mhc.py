"""mHC: Sinkhorn projection onto doubly stochastic matrices and the 4-stream residual around a sub-layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.model.mhc import HyperConnection, MHCConfig, collapse_streams, expand_streams, sinkhorn

DIM, N = 16, 4


class ScaledMLP(nn.Module):
    """A small pre-norm sub-layer taking an extra argument, as attention takes start_pos and freqs."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.RMSNorm(dim)
        self.up, self.down = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        return scale * self.down(torch.tanh(self.up(self.norm(x))))


class Zero(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def test_sinkhorn_is_doubly_stochastic():
    torch.manual_seed(0)
    m = sinkhorn(torch.randn(256, N, N), iters=100)
    assert (m >= 0).all()
    assert (m.sum(-1) - 1).abs().max().item() <= 1e-6
    assert (m.sum(-2) - 1).abs().max().item() <= 1e-6


def test_sinkhorn_with_the_papers_twenty_iterations():
    """Rows are exact (last step); columns are close but not exact, the approximation mHC accepts."""
    torch.manual_seed(0)
    m = sinkhorn(torch.randn(256, N, N), iters=20)
    assert (m.sum(-1) - 1).abs().max().item() <= 1e-6
    assert (m.sum(-2) - 1).abs().max().item() <= 1e-3


def test_sinkhorn_known_points():
    torch.testing.assert_close(sinkhorn(torch.zeros(N, N)), torch.full((N, N), 1 / N))  # uniform
    diagonal = torch.full((N, N), -30.0).fill_diagonal_(0.0)
    torch.testing.assert_close(sinkhorn(diagonal), torch.eye(N), rtol=0, atol=1e-6)  # identity
    # A doubly stochastic matrix (a mix of permutations) is a fixed point of exp -> Sinkhorn on its log.
    eye, shift = torch.eye(N), torch.eye(N).roll(1, dims=1)
    target = 0.7 * eye + 0.2 * shift + 0.1 * shift @ shift
    torch.testing.assert_close(sinkhorn(target.log() + 3.0), target, rtol=0, atol=1e-6)
    # Scaling rows and columns of exp(logits) does not change the projection.
    torch.manual_seed(1)
    logits = torch.randn(N, N)
    shifted = logits + torch.randn(N, 1) + torch.randn(1, N)
    torch.testing.assert_close(sinkhorn(shifted, 100), sinkhorn(logits, 100), rtol=0, atol=1e-6)


def test_stream_shapes():
    x = torch.randn(2, 5, DIM)
    streams = expand_streams(x, N)
    assert streams.shape == (2, 5, N, DIM)
    assert all(torch.equal(streams[:, :, i], x) for i in range(N))
    block = HyperConnection(DIM, ScaledMLP(DIM))
    out = block(streams, scale=0.5)
    assert out.shape == streams.shape
    h_pre, h_post, h_res = block.mappings(streams)
    assert h_pre.shape == (2, 5, N) and h_post.shape == (2, 5, N) and h_res.shape == (2, 5, N, N)
    assert (h_pre >= 0).all() and ((h_post > 0) & (h_post < 2)).all() and (h_res >= 0).all()
    assert collapse_streams(out).shape == (2, 5, DIM)
    with pytest.raises(ValueError, match="streams"):
        block(x)


def test_untrained_stack_without_dynamic_part_is_a_plain_residual_network():
    """a = 0: expand -> mHC blocks -> collapse computes x + f1(x), then + f2(...), like a pre-norm residual."""
    torch.manual_seed(0)
    layers = [ScaledMLP(DIM) for _ in range(3)]
    blocks = [HyperConnection(DIM, f, MHCConfig(n_streams=N, alpha_init=0.0)) for f in layers]
    x = torch.randn(2, 7, DIM)
    streams = expand_streams(x, N)
    for block in blocks:
        streams = block(streams)
    expected = x
    for f in layers:
        expected = expected + f(expected)
    torch.testing.assert_close(collapse_streams(streams), expected, rtol=0, atol=1e-5)


def test_identity_mapping_when_the_sublayer_is_silent():
    """f = 0 and an identity H_res: the streams pass through unchanged, however different they are."""
    block = HyperConnection(DIM, Zero(), MHCConfig(n_streams=N, alpha_init=0.0, res_off_diagonal_logit=-30.0))
    streams = torch.randn(3, 4, N, DIM)
    torch.testing.assert_close(block(streams), streams, rtol=0, atol=1e-6)


def test_residual_mixing_preserves_the_stream_sum():
    """Column sums of 1: with f = 0 the sum over streams is kept whatever the (dynamic) mixing."""
    torch.manual_seed(0)
    block = HyperConnection(DIM, Zero(), MHCConfig(n_streams=N, alpha_init=1.0, sinkhorn_iters=200))
    nn.init.normal_(block.b_res, std=1.0)
    streams = torch.randn(3, 4, N, DIM)
    out = block(streams)
    assert not torch.allclose(out, streams, atol=1e-2)  # the streams really were mixed
    torch.testing.assert_close(out.sum(-2), streams.sum(-2), rtol=0, atol=1e-5)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    f = ScaledMLP(DIM)
    block = HyperConnection(DIM, f)
    x = torch.randn(2, 5, DIM, requires_grad=True)
    out = collapse_streams(block(expand_streams(x, N), scale=2.0))
    out.square().mean().backward()
    assert x.grad is not None and x.grad.shape == x.shape and torch.isfinite(x.grad).all()
    for name, param in block.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_bfloat16_streams_keep_their_dtype():
    block = HyperConnection(DIM, ScaledMLP(DIM)).to(torch.bfloat16)
    streams = expand_streams(torch.randn(1, 3, DIM, dtype=torch.bfloat16), N)
    out = block(streams)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_needs_two_streams():
    with pytest.raises(ValueError, match="2 streams"):
        HyperConnection(DIM, Zero(), MHCConfig(n_streams=1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (compiled mixing is for GPU training)")
def test_compiled_mixing_matches_eager_forward_and_gradients():
    from engine.model.mhc import compiled_mixing

    torch.manual_seed(0)
    layer = HyperConnection(DIM, ScaledMLP(DIM), MHCConfig(n_streams=N, alpha_init=0.5)).cuda()
    streams = torch.randn(2, 64, N, DIM, device="cuda", requires_grad=True)

    def run():
        layer.zero_grad()
        streams.grad = None
        out = layer(streams, 0.7)
        out.square().sum().backward()
        return out.detach(), streams.grad.clone(), layer.phi.weight.grad.clone()

    eager = run()
    with compiled_mixing():
        fused = run()
    for a, b in zip(eager, fused, strict=True):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
