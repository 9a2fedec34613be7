"""mHC: manifold-constrained hyper-connections (DeepSeek, arXiv 2512.24880), a widened residual stream.

The residual stream holds n copies ("streams", n = 4) of the hidden state. Around each sub-layer f (attention or
MLP, with its own pre-norm), per token, with the streams x_l as an n x C matrix:

    x_{l+1} = H_res x_l + H_post^T f(H_pre x_l)

The three maps are dynamic (from the token) plus static (a learned bias), as in the paper's eqs. 7-9:

    x~     = RMSNorm(vec(x_l))                         [n * C], no learned scale (phi absorbs it)
    H~pre  = a_pre  * (x~ phi_pre)       + b_pre       [n]
    H~post = a_post * (x~ phi_post)      + b_post      [n]
    H~res  = a_res  * mat(x~ phi_res)    + b_res       [n, n]
    H_pre  = sigmoid(H~pre)                            non-negative read weights (no cancelling streams)
    H_post = 2 * sigmoid(H~post)                       non-negative write weights in (0, 2)
    H_res  = Sinkhorn-Knopp(exp(H~res))                doubly stochastic: t_max alternating column/row normalisations

Why the constraint: plain hyper-connections multiply unconstrained n x n matrices across depth and the product's
gain blows up (the paper measures ~3000 at 27B). A doubly stochastic matrix has spectral norm 1, preserves the
mean of the streams, and products of such matrices stay doubly stochastic, so the identity-mapping property of
the residual connection survives any depth. The coefficients are computed in float32.

Initialisation (ours; the paper only says the gates a start small): a = 0.01; b_pre = logit(1/n), so f reads the
mean of the streams; b_post = 0, so f's output is written to every stream at weight 1; b_res leans to identity.
With ``expand`` (copy x into n streams) and ``collapse`` (mean of streams) a stack with a = 0 computes exactly the
ordinary pre-norm residual network x + f(x), which is where training starts from.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class MHCConfig:
    n_streams: int = 4
    sinkhorn_iters: int = 20  # t_max in the paper
    alpha_init: float = 0.01  # gates of the dynamic (token-dependent) part
    res_off_diagonal_logit: float = -4.0  # b_res off the diagonal (diagonal 0): H_res starts near identity
    norm_eps: float = 1e-6


def sinkhorn(logits: Tensor, iters: int = 20) -> Tensor:
    """Doubly stochastic matrix [..., n, n] from exp(logits): normalise columns, then rows, ``iters`` times.

    Ending on the rows makes every row sum to 1 exactly (each output stream is a convex mix of input streams);
    the columns converge to 1 geometrically. Plain ops, so autograd differentiates through the iterations.
    """
    m = (logits - logits.amax(dim=(-2, -1), keepdim=True)).exp()
    for _ in range(iters):
        m = m / m.sum(dim=-2, keepdim=True)
        m = m / m.sum(dim=-1, keepdim=True)
    return m


def expand_streams(x: Tensor, n_streams: int) -> Tensor:
    """[B, T, d] -> [B, T, n, d]: every stream starts as a copy of the embedding."""
    return x.unsqueeze(-2).expand(*x.shape[:-1], n_streams, x.size(-1)).contiguous()


def collapse_streams(streams: Tensor) -> Tensor:
    """[B, T, n, d] -> [B, T, d]: the mean, so an untrained mHC stack equals a plain residual one."""
    return streams.mean(dim=-2)


class HyperConnection(nn.Module):
    """mHC around one sub-layer f: streams [B, T, n, d] -> streams, f called on [B, T, d].

    Extra positional and keyword arguments of forward go to f (e.g. start_pos, freqs, mask for attention);
    f must return a tensor of the shape it was given.
    """

    def __init__(self, dim: int, sublayer: nn.Module, cfg: MHCConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or MHCConfig()
        n = cfg.n_streams
        if n < 2:
            raise ValueError(f"mHC needs at least 2 streams, got n_streams={n}")
        self.dim, self.n = dim, n
        self.sublayer = sublayer
        # One projection for the three maps: n (pre) + n (post) + n*n (res) coefficients per token.
        self.phi = nn.Linear(n * dim, 2 * n + n * n, bias=False)
        nn.init.normal_(self.phi.weight, std=(n * dim) ** -0.5)
        self.alpha = nn.Parameter(torch.full((3,), cfg.alpha_init))  # pre, post, res
        self.b_pre = nn.Parameter(torch.full((n,), math.log(1 / (n - 1))))  # sigmoid -> 1/n
        self.b_post = nn.Parameter(torch.zeros(n))  # 2 * sigmoid -> 1
        off = torch.full((n, n), cfg.res_off_diagonal_logit)
        self.b_res = nn.Parameter(off.fill_diagonal_(0.0))

    def mappings(self, streams: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """H_pre [B, T, n] >= 0, H_post [B, T, n] in (0, 2), H_res [B, T, n, n] doubly stochastic (float32)."""
        return _mappings(
            streams,
            self.phi.weight,
            self.alpha,
            self.b_pre,
            self.b_post,
            self.b_res,
            self.cfg.norm_eps,
            self.cfg.sinkhorn_iters,
        )

    def forward(self, streams: Tensor, *args, **kwargs) -> Tensor:
        if streams.dim() != 4 or streams.shape[-2:] != (self.n, self.dim):
            raise ValueError(f"expected streams [B, T, {self.n}, {self.dim}], got {tuple(streams.shape)}")
        p = self.phi.weight, self.alpha, self.b_pre, self.b_post, self.b_res
        layer_in, h_post, h_res = _KERNELS["read"](streams, *p, self.cfg.norm_eps, self.cfg.sinkhorn_iters)
        layer_out = self.sublayer(layer_in, *args, **kwargs)
        return _KERNELS["write"](streams, h_res, h_post, layer_out)


def _mappings(streams, phi, alpha, b_pre, b_post, b_res, eps: float, iters: int) -> tuple[Tensor, Tensor, Tensor]:
    n, dim = streams.shape[-2:]
    flat = F.rms_norm(streams.float().flatten(-2), (n * dim,), eps=eps)
    dyn_pre, dyn_post, dyn_res = F.linear(flat, phi.float()).split([n, n, n * n], dim=-1)
    alpha = alpha.float()
    h_pre = torch.sigmoid(alpha[0] * dyn_pre + b_pre.float())
    h_post = 2 * torch.sigmoid(alpha[1] * dyn_post + b_post.float())
    res_logits = alpha[2] * dyn_res.unflatten(-1, (n, n)) + b_res.float()
    return h_pre, h_post, sinkhorn(res_logits, iters)


def _read(streams, phi, alpha, b_pre, b_post, b_res, eps: float, iters: int) -> tuple[Tensor, Tensor, Tensor]:
    """The sub-layer's input (H_pre-weighted mix of the streams) and the maps the write needs."""
    h_pre, h_post, h_res = _mappings(streams, phi, alpha, b_pre, b_post, b_res, eps, iters)
    layer_in = torch.einsum("btn,btnd->btd", h_pre, streams.float()).to(streams.dtype)
    return layer_in, h_post, h_res


def _write(streams: Tensor, h_res: Tensor, h_post: Tensor, layer_out: Tensor) -> Tensor:
    """H_res mixes the streams, H_post spreads the sub-layer's output over them."""
    mixed = torch.einsum("btij,btjd->btid", h_res, streams.float())
    return (mixed + h_post.unsqueeze(-1) * layer_out.float().unsqueeze(-2)).to(streams.dtype)


_EAGER = {"read": _read, "write": _write}
_KERNELS = dict(_EAGER)


@contextmanager
def compiled_mixing():
    """Within the block, the stream read/write (norm, maps, Sinkhorn, mixes: ~100 small ops per sub-layer) run as
    torch.compile'd fused kernels. For training on a GPU, where these launch-bound ops cost more than attention
    and MLP together for a small model; the maths is unchanged."""
    _KERNELS.update(read=torch.compile(_read, dynamic=False), write=torch.compile(_write, dynamic=False))
    try:
        yield
    finally:
        _KERNELS.update(_EAGER)
