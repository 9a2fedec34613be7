"""Engram: conditional memory looked up by hashed n-grams and gated into the hyper-connection streams.

DeepSeek's Engram (arXiv 2601.07372, demo ``engram_demo_v1.py``) adds a static memory to chosen layers: for each
token the n-grams ending there (n = 2..N, over compressed token ids) are hashed into a few prime-sized tables per
order, the rows are concatenated into e_t, and each hyper-connection stream m decides how much of it to take:

    k_m = RMSNorm(W_K^m e_t) * k_w[m],   q_m = RMSNorm(h_{t,m}) * q_w[m],   s = <k_m, q_m> / sqrt(d)
    alpha_m = sigmoid(sign(s) * sqrt(max(|s|, 1e-6))),   out_m = alpha_m * W_V e_t      (W_V shared)

The demo variant then adds a short depthwise causal conv over time (per-stream RMSNorm, kernel 4, dilation N,
SiLU): out = out + conv(out). The DeepSeek-V4.1 variant (``EngramConfig.v41``) has orders 2-4, no conv and no
projection biases, and a configured RMSNorm eps. The block adds the output to the hidden state before attention.

Hash ids depend only on token ids, so they are known before the forward pass starts; that is what lets the
tables live in host memory (on a GPU with Triton the kernel reads the rows from the pinned table in place; else
`EngramPrefetcher` fetches them while earlier layers run).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.engram_hash import NgramHasher, table_primes


@dataclass(frozen=True)
class EngramConfig:
    """Shape of the Engram memory; the defaults are the demo's, for a 1024-wide backbone with 4 streams."""

    hidden_size: int = 1024  # d: width of one hyper-connection stream
    hc_mult: int = 4  # M: number of hyper-connection streams
    table_sizes: tuple[int, ...] = (129280 * 5, 129280 * 5)  # nominal rows per head, for n = 2..max_ngram_size
    max_ngram_size: int = 3
    n_embed_per_ngram: int = 512  # width of one order's rows, split over its heads
    n_head_per_ngram: int = 8
    layer_ids: tuple[int, ...] = (1, 15)
    pad_id: int = 2  # raw token id read before the sequence start
    seed: int = 0
    kernel_size: int = 4
    conv_norm_eps: float = 1e-5
    gate_norm_eps: float | None = None  # None: finfo(dtype).eps, as nn.RMSNorm(eps=None) in the demo
    gate_clamp: float = 1e-6  # |s| floor under the signed sqrt
    v41: bool = False  # DeepSeek-V4.1: fused bias-free key/value projection, no short conv
    host_table: bool = False  # keep the embedding table in (pinned) host memory

    def __post_init__(self) -> None:
        if len(self.table_sizes) != self.max_ngram_size - 1:
            raise ValueError(
                f"table_sizes needs one nominal size per order 2..{self.max_ngram_size}, got {self.table_sizes}"
            )
        if self.n_embed_per_ngram % self.n_head_per_ngram:
            raise ValueError(
                f"n_embed_per_ngram {self.n_embed_per_ngram} is not divisible by n_head_per_ngram "
                f"{self.n_head_per_ngram}"
            )

    @property
    def head_dim(self) -> int:
        return self.n_embed_per_ngram // self.n_head_per_ngram

    @property
    def n_heads(self) -> int:
        """Hash heads per layer, over all orders."""
        return (self.max_ngram_size - 1) * self.n_head_per_ngram

    @property
    def memory_dim(self) -> int:
        """Width of e_t, the concatenated rows."""
        return (self.max_ngram_size - 1) * self.n_embed_per_ngram


def signed_sqrt(x: torch.Tensor, clamp: float) -> torch.Tensor:
    """sign(x) * sqrt(max(|x|, clamp)): compresses large gate logits while keeping their sign."""
    return x.abs().clamp_min(clamp).sqrt() * x.sign()


def engram_gate(
    hidden: torch.Tensor,
    keys: torch.Tensor,
    q_weight: torch.Tensor,
    k_weight: torch.Tensor,
    eps: float | None,
    clamp: float = 1e-6,
) -> torch.Tensor:
    """alpha [..., M] from streams [..., M, d] and keys [..., M, d]: how well the memory matches each stream."""
    dim = hidden.shape[-1]
    query = F.rms_norm(hidden, (dim,), eps=eps) * q_weight
    key = F.rms_norm(keys, (dim,), eps=eps) * k_weight
    score = (key * query).sum(dim=-1) / math.sqrt(dim)
    return torch.sigmoid(signed_sqrt(score, clamp))


def _on_host(tensor: torch.Tensor) -> torch.Tensor:
    """CPU memory, pinned when CUDA is present so copies to the GPU can run asynchronously."""
    tensor = tensor.cpu()
    return tensor.pin_memory() if torch.cuda.is_available() else tensor


class MultiHeadEmbedding(nn.Module):
    """Every hash head's table in one matrix: head h owns rows offsets[h] .. offsets[h] + size[h] - 1."""

    def __init__(self, head_sizes: list[int], head_dim: int) -> None:
        super().__init__()
        offsets = [0]
        for size in head_sizes[:-1]:
            offsets.append(offsets[-1] + size)
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.int64))
        self.weight = nn.Parameter(torch.randn(sum(head_sizes), head_dim))
        self.on_host = False
        # With the table on the host and the ids on a GPU: None lets the GPU read the rows from the pinned table
        # (engine.kernels.engram_gather: no host work, only the rows cross the bus) when Triton is there and no
        # gradient is recorded; False gathers on the CPU and copies the rows over.
        self.use_kernels: bool | None = None

    def forward(self, hash_ids: torch.Tensor) -> torch.Tensor:
        """Rows [..., heads, head_dim] for per-head hash ids [..., heads], on the ids' device."""
        if self.on_host and hash_ids.device.type != "cpu":
            if self._kernels_apply(hash_ids):
                from engine import kernels

                return kernels.engram_gather(self.weight.detach(), self._offsets_on(hash_ids.device), hash_ids)
            return self.gather_on_host(hash_ids).to(hash_ids.device)
        return F.embedding(hash_ids + self.offsets.to(hash_ids.device), self.weight)

    def _offsets_on(self, device: torch.device) -> torch.Tensor:
        """The head offsets on `device`, copied once (a host table keeps its own on the CPU)."""
        cached = getattr(self, "_device_offsets", None)
        if cached is None or cached.device != device:
            cached = self._device_offsets = self.offsets.to(device)
        return cached

    def _kernels_apply(self, hash_ids: torch.Tensor) -> bool:
        from engine import kernels

        return kernels.apply_to(hash_ids, self.use_kernels)

    def gather_on_host(self, hash_ids: torch.Tensor, pinned: bool = False) -> torch.Tensor:
        """Rows gathered on the CPU, into pinned memory when asked (the source of an async copy)."""
        index = (hash_ids.cpu() + self.offsets.cpu()).flatten()
        weight = self.weight.detach().cpu()
        out = torch.empty((index.numel(), weight.shape[1]), dtype=weight.dtype, pin_memory=pinned)
        torch.index_select(weight, 0, index, out=out)
        return out.view(*hash_ids.shape, weight.shape[1])

    def to_host(self) -> MultiHeadEmbedding:
        """Keep the table in host memory from now on: later `.to(device)` calls change its dtype only."""
        self.weight.data = _on_host(self.weight.data)
        self.offsets = self.offsets.cpu()
        self.on_host = True
        return self

    def _apply(self, fn, recurse: bool = True) -> MultiHeadEmbedding:
        if not self.on_host:
            return super()._apply(fn, recurse)
        # Probe what `fn` does to a tensor of the table's dtype; apply its dtype, never its device.
        dtype = fn(torch.empty(0, dtype=self.weight.dtype)).dtype
        if dtype != self.weight.dtype:
            self.weight.data = _on_host(self.weight.data.to(dtype))
        return self


class ShortConv(nn.Module):
    """Per-stream RMSNorm, then a depthwise causal conv over time, then SiLU: a little local mixing of memory."""

    def __init__(self, dim: int, hc_mult: int, kernel_size: int, dilation: int, eps: float) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.eps = kernel_size, dilation, eps
        self.norm_weight = nn.Parameter(torch.ones(hc_mult, dim))
        channels = hc_mult * dim
        bound = 1 / math.sqrt(kernel_size)  # nn.Conv1d's default init for a depthwise kernel
        self.weight = nn.Parameter(torch.empty(channels, 1, kernel_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, M, d] -> [B, T, M, d]; tap i reads t - (kernel_size - 1 - i) * dilation, zeros before 0."""
        batch, seq_len, streams, dim = x.shape
        x = F.rms_norm(x, (dim,), eps=self.eps) * self.norm_weight
        x = x.reshape(batch, seq_len, streams * dim).transpose(1, 2)
        padding = (self.kernel_size - 1) * self.dilation
        y = F.conv1d(x, self.weight, padding=padding, dilation=self.dilation, groups=streams * dim)[..., :seq_len]
        return F.silu(y).transpose(1, 2).reshape(batch, seq_len, streams, dim)


class Engram(nn.Module):
    """One layer's Engram: hashed n-gram rows -> per-stream gated value (+ short conv in the demo variant)."""

    def __init__(self, config: EngramConfig, layer_id: int, hasher: NgramHasher | None = None) -> None:
        super().__init__()
        if layer_id not in config.layer_ids:
            raise ValueError(f"layer {layer_id} has no Engram (layer_ids: {config.layer_ids})")
        self.config, self.layer_id, self.hasher = config, layer_id, hasher
        primes = (
            hasher.primes
            if hasher is not None
            else table_primes(config.table_sizes, config.n_head_per_ngram, config.layer_ids)
        )
        self.head_sizes = [prime for order in primes[layer_id] for prime in order]
        self.embedding = MultiHeadEmbedding(self.head_sizes, config.head_dim)
        if config.host_table:
            self.embedding.to_host()
        dim, streams = config.hidden_size, config.hc_mult
        # One projection for the M keys (W_K^m) and the shared value (W_V): [k_0 | ... | k_{M-1} | v].
        self.wkv = nn.Linear(config.memory_dim, (streams + 1) * dim, bias=not config.v41)
        self.q_weight = nn.Parameter(torch.ones(streams, dim))
        self.k_weight = nn.Parameter(torch.ones(streams, dim))
        self.short_conv = (
            None
            if config.v41
            else ShortConv(dim, streams, config.kernel_size, config.max_ngram_size, config.conv_norm_eps)
        )

    def forward(
        self,
        hidden: torch.Tensor,
        token_ids: torch.Tensor | None = None,
        *,
        hash_ids: torch.Tensor | None = None,
        rows: torch.Tensor | None = None,
        lookback_token_ids: torch.Tensor | None = None,
        token_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the block adds to `hidden` [B, T, M, d] before attention.

        Give exactly one of: raw `token_ids` [B, T] (hashed here, with `lookback_token_ids` for a chunk that
        continues a sequence), per-head `hash_ids` [B, T, heads], or prefetched `rows` [B, T, heads, head_dim].
        `token_mask` [B, T] False closes the gate (those positions get nothing).
        """
        self._check_hidden(hidden)
        if sum(x is not None for x in (token_ids, hash_ids, rows)) != 1:
            raise ValueError("give exactly one of token_ids, hash_ids or rows")
        if rows is None:
            if hash_ids is None:
                if self.hasher is None:
                    raise ValueError("this Engram has no hasher: pass hash_ids or rows instead of token_ids")
                hash_ids = self.hasher.hash(token_ids, self.layer_id, lookback_token_ids)
            rows = self.embedding(hash_ids)
        if rows.shape[:2] != hidden.shape[:2]:
            raise ValueError(f"memory rows {tuple(rows.shape)} do not match hidden {tuple(hidden.shape)}")
        memory = rows.flatten(-2).to(device=hidden.device, dtype=self.wkv.weight.dtype)
        out = self.gated_value(hidden, self.wkv(memory), token_mask)
        if self.short_conv is not None:
            out = out + self.short_conv(out)
        return out

    def gated_value(
        self, hidden: torch.Tensor, kv: torch.Tensor, token_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """alpha_m * v [..., M, d] from the streams and the fused projection kv [..., (M + 1) * d]."""
        streams, dim = self.config.hc_mult, self.config.hidden_size
        keys = kv[..., : streams * dim].unflatten(-1, (streams, dim))
        value = kv[..., streams * dim :]
        gate = engram_gate(
            hidden, keys, self.q_weight, self.k_weight, self.config.gate_norm_eps, self.config.gate_clamp
        )
        if token_mask is not None:
            gate = gate.masked_fill(~token_mask.bool().unsqueeze(-1), 0.0)
        return gate.unsqueeze(-1) * value.unsqueeze(-2)

    def _check_hidden(self, hidden: torch.Tensor) -> None:
        expected = (self.config.hc_mult, self.config.hidden_size)
        if hidden.dim() != 4 or tuple(hidden.shape[-2:]) != expected:
            raise ValueError(f"hidden must be [batch, seq, {expected[0]}, {expected[1]}], got {tuple(hidden.shape)}")

    @torch.no_grad()
    def load_demo_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Load weights named as in DeepSeek's ``engram_demo_v1.py`` Engram module (separate key/value layers)."""
        if self.config.v41:
            raise ValueError("demo weights have projection biases and a short conv; this Engram is the V4.1 variant")
        streams = self.config.hc_mult
        offsets = torch.as_tensor(state["multi_head_embedding.offsets"])
        if not torch.equal(offsets.cpu(), self.embedding.offsets.cpu()):
            raise ValueError(f"demo table offsets {offsets.tolist()} differ from this layer's; config mismatch")
        self.embedding.weight.copy_(torch.as_tensor(state["multi_head_embedding.embedding.weight"]))
        names = [f"key_projs.{m}" for m in range(streams)] + ["value_proj"]
        self.wkv.weight.copy_(torch.cat([torch.as_tensor(state[f"{name}.weight"]) for name in names]))
        self.wkv.bias.copy_(torch.cat([torch.as_tensor(state[f"{name}.bias"]) for name in names]))
        self.k_weight.copy_(torch.stack([torch.as_tensor(state[f"norm1.{m}.weight"]) for m in range(streams)]))
        self.q_weight.copy_(torch.stack([torch.as_tensor(state[f"norm2.{m}.weight"]) for m in range(streams)]))
        self.short_conv.weight.copy_(torch.as_tensor(state["short_conv.conv.weight"]))
        norms = [torch.as_tensor(state[f"short_conv.norms.{m}.weight"]) for m in range(streams)]
        self.short_conv.norm_weight.copy_(torch.stack(norms))


class EngramPrefetcher:
    """Fetches every Engram layer's rows at the start of the forward pass, so host-memory tables stall nothing.

    `start(token_ids)` hashes the tokens for all layers, gathers each layer's rows on the host and copies them to
    the device on a side CUDA stream (non-blocking, from pinned memory), recording an event; `rows(layer_id)`
    makes the current stream wait on that event. A table already on the device is looked up there; on a CPU
    device it all degrades to a plain gather.
    """

    def __init__(
        self, hasher: NgramHasher, tables: Mapping[int, MultiHeadEmbedding], device: torch.device | str
    ) -> None:
        self.hasher, self.tables, self.device = hasher, dict(tables), torch.device(device)
        self.stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        self._ready: dict[int, tuple[torch.Tensor, torch.cuda.Event | None]] = {}
        self._staging: list[torch.Tensor] = []

    @classmethod
    def for_layers(cls, hasher: NgramHasher, layers: Iterable[Engram], device: torch.device | str) -> EngramPrefetcher:
        return cls(hasher, {layer.layer_id: layer.embedding for layer in layers}, device)

    def start(self, token_ids: torch.Tensor, lookback_token_ids: torch.Tensor | None = None) -> None:
        """Begin fetching rows for raw `token_ids` [B, T]; call once per forward pass, before the first layer."""
        self._ready.clear()
        self._staging.clear()  # pinned blocks of the last pass: the caching host allocator waits for their copies
        hash_ids = self.hasher.hash_all(token_ids, lookback_token_ids)
        for layer_id, table in self.tables.items():
            self._ready[layer_id] = self._fetch(table, hash_ids[layer_id])

    def rows(self, layer_id: int) -> torch.Tensor:
        """Rows [B, T, heads, head_dim] of `layer_id` on the device, safe to use on the current stream."""
        if layer_id not in self._ready:
            raise KeyError(f"no rows fetched for Engram layer {layer_id}: call start() first")
        rows, done = self._ready.pop(layer_id)
        if done is not None:
            stream = torch.cuda.current_stream(self.device)
            stream.wait_event(done)
            rows.record_stream(stream)  # allocated on the side stream, used on this one
        return rows

    def _fetch(self, table: MultiHeadEmbedding, hash_ids: torch.Tensor) -> tuple[torch.Tensor, torch.cuda.Event | None]:
        if self.stream is None or table.weight.device.type != "cpu":
            return table(hash_ids.to(table.weight.device)).to(self.device), None
        staging = table.gather_on_host(hash_ids, pinned=True)
        self._staging.append(staging)
        with torch.cuda.stream(self.stream):
            rows = staging.to(self.device, non_blocking=True)
            done = torch.cuda.Event()
            done.record(self.stream)
        return rows, done
