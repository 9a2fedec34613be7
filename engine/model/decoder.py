"""The decoder: token embedding, blocks of [Engram] -> attention -> SwiGLU MLP, RMSNorm, tied output head.

Each block is, with pre-norm residuals (or mHC hyper-connections around the same sub-layers):

    h = h + Engram(h)                        in the layers config.engram names
    h = h + Attention(RMSNorm(h))            dense causal MHA with RoPE (SDPA), or DSA (MLA + indexer)
    h = h + SwiGLU(RMSNorm(h))

With mHC the hidden state is [B, T, n, d] (n residual streams) from the embedding to the final collapse.

Incremental decoding: `setup_cache()` allocates every position-indexed cache (dense K/V, MLA's latent cache and
the indexer's keys, and the raw token ids Engram reads as lookback); `forward(tokens, start_pos)` writes positions
start_pos.. and reads everything before. Nothing else is stateful (Engram is the V4.1 variant, without the short
conv; mHC mixes streams per token), so a cache holding a sequence also holds every prefix of it: continuing
from any earlier position is simply a smaller start_pos.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .dsa import MLA, RMSNorm, apply_rope, extend_cache, precompute_freqs
from .engram import Engram
from .engram_hash import NgramHasher, build_compression_table
from .mhc import HyperConnection, MHCConfig, collapse_streams, expand_streams

INIT_STD = 0.02


def rope_frequencies(head_dim: int, max_seq_len: int, theta: float) -> Tensor:
    """Complex rotations [max_seq_len, head_dim / 2] for dense attention (pairs i, i + head_dim / 2)."""
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), freqs)
    return torch.polar(torch.ones_like(angles), angles)


class Attention(nn.Module):
    """Plain causal multi-head attention with RoPE through torch SDPA, and a K/V cache for decoding."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        self.wqkv = nn.Linear(config.dim, 3 * config.dim, bias=False)
        self.wo = nn.Linear(config.dim, config.dim, bias=False)
        self.register_buffer("k_cache", None, persistent=False)
        self.register_buffer("v_cache", None, persistent=False)

    def setup_cache(self, max_batch_size: int, max_seq_len: int, dtype: torch.dtype | None = None) -> None:
        weight = self.wqkv.weight
        shape = (max_batch_size, max_seq_len, self.n_heads, self.head_dim)
        self.k_cache = torch.zeros(shape, dtype=dtype or weight.dtype, device=weight.device)
        self.v_cache = torch.zeros(shape, dtype=dtype or weight.dtype, device=weight.device)

    def forward(self, x: Tensor, start_pos: int, freqs: Tensor) -> Tensor:
        bsz, seqlen, _ = x.shape
        q, k, v = self.wqkv(x).view(bsz, seqlen, 3, self.n_heads, self.head_dim).unbind(2)
        q, k = apply_rope(q, freqs, interleaved=False), apply_rope(k, freqs, interleaved=False)
        k = extend_cache(self.k_cache, k, start_pos)
        v = extend_cache(self.v_cache, v, start_pos)
        mask, causal = None, False
        if seqlen > 1 and start_pos == 0:
            causal = True
        elif seqlen > 1:  # a chunk continuing a cached sequence: row i sees keys 0..start_pos + i
            mask = torch.ones(seqlen, start_pos + seqlen, dtype=torch.bool, device=x.device).tril(start_pos)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask, is_causal=causal
        )
        return self.wo(out.transpose(1, 2).reshape(bsz, seqlen, -1))


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class PreNorm(nn.Module):
    """RMSNorm, then the sub-layer; what both the plain residual and mHC wrap."""

    def __init__(self, dim: int, sublayer: nn.Module, eps: float):
        super().__init__()
        self.norm = RMSNorm(dim, eps=eps)
        self.sublayer = sublayer

    def forward(self, x: Tensor, *args) -> Tensor:
        return self.sublayer(self.norm(x), *args)


class Residual(nn.Module):
    """x + f(x): the plain counterpart of HyperConnection, with the same call signature."""

    def __init__(self, sublayer: nn.Module):
        super().__init__()
        self.sublayer = sublayer

    def forward(self, x: Tensor, *args) -> Tensor:
        return x + self.sublayer(x, *args)


class Block(nn.Module):
    def __init__(self, config: ModelConfig, layer_id: int, hasher: NgramHasher | None):
        super().__init__()
        self.layer_id = layer_id
        attention = MLA(config.dsa_config()) if config.attention == "dsa" else Attention(config)
        attn = PreNorm(config.dim, attention, config.norm_eps)
        mlp = PreNorm(config.dim, FeedForward(config.dim, config.mlp_hidden), config.norm_eps)
        if config.mhc_streams:
            mhc = MHCConfig(n_streams=config.mhc_streams, norm_eps=config.norm_eps)
            self.attn, self.mlp = HyperConnection(config.dim, attn, mhc), HyperConnection(config.dim, mlp, mhc)
        else:
            self.attn, self.mlp = Residual(attn), Residual(mlp)
        engram = config.engram_config()
        self.engram = Engram(engram, layer_id, hasher) if engram and layer_id in engram.layer_ids else None

    @property
    def attention(self) -> Attention | MLA:
        return self.attn.sublayer.sublayer

    def forward(self, h: Tensor, start_pos: int, freqs: Tensor, hash_ids: dict[int, Tensor]) -> Tensor:
        if self.engram is not None:
            streams = h if h.dim() == 4 else h.unsqueeze(2)  # Engram reads [B, T, streams, d]; plain residual: 1
            memory = self.engram(streams, hash_ids=hash_ids[self.layer_id])
            h = h + (memory if h.dim() == 4 else memory.squeeze(2))
        return self.mlp(self.attn(h, start_pos, freqs))


class Decoder(nn.Module):
    """The whole model. `engram_lookup` is the raw -> compressed token id table (see `engram_lookup_for`)."""

    def __init__(self, config: ModelConfig, engram_lookup: Tensor | np.ndarray | None = None):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.dim)
        self.hasher: NgramHasher | None = None
        engram = config.engram_config()
        if engram is not None:
            lookup = torch.arange(config.vocab_size) if engram_lookup is None else torch.as_tensor(engram_lookup)
            if lookup.shape != (config.vocab_size,):
                raise ValueError(f"engram_lookup has shape {tuple(lookup.shape)}, expected ({config.vocab_size},)")
            # Persistent, so a checkpoint carries the table its hashes were trained with.
            self.register_buffer("engram_lookup", lookup.long().cpu())
            self.hasher = NgramHasher.from_table(engram, self.engram_lookup.numpy())
        self.layers = nn.ModuleList(Block(config, layer_id, self.hasher) for layer_id in range(config.n_layers))
        self.norm = RMSNorm(config.dim, eps=config.norm_eps)
        self.output = None if config.tie_embeddings else nn.Linear(config.dim, config.vocab_size, bias=False)
        self.register_buffer("token_cache", None, persistent=False)
        self._freqs: dict[torch.device, Tensor] = {}  # complex; kept out of buffers so .to(dtype) leaves it alone
        self._init_weights()

    def _init_weights(self) -> None:
        """nanoGPT's scheme for embeddings, attention and MLP; Engram and mHC keep their own initialisation."""
        nn.init.normal_(self.tok_emb.weight, std=INIT_STD)
        if self.output is not None:
            nn.init.normal_(self.output.weight, std=INIT_STD)
        for block in self.layers:
            for module in (block.attention, block.mlp.sublayer.sublayer):
                for name, param in module.named_parameters():
                    if param.dim() == 2:
                        # Projections back into the residual stream are scaled down with depth.
                        residual = name.endswith(("wo.weight", "w2.weight"))
                        std = INIT_STD / math.sqrt(2 * self.config.n_layers) if residual else INIT_STD
                        nn.init.normal_(param, std=std)

    # --- caches ---------------------------------------------------------------------------------------------------

    def setup_cache(self, max_batch_size: int = 1, max_seq_len: int | None = None) -> None:
        """Allocate the caches for incremental decoding, up to max_seq_len positions (the config's by default)."""
        max_seq_len = max_seq_len or self.config.max_seq_len
        if max_seq_len > self.config.max_seq_len:
            raise ValueError(f"cache of {max_seq_len} positions exceeds the model's {self.config.max_seq_len}")
        for block in self.layers:
            block.attention.setup_cache(max_batch_size, max_seq_len)
        device = self.tok_emb.weight.device
        self.token_cache = torch.full((max_batch_size, max_seq_len), -1, dtype=torch.long, device=device)

    def clear_cache(self) -> None:
        """Free the caches; afterwards only full forwards (start_pos 0) work."""
        for block in self.layers:
            attention = block.attention
            if isinstance(attention, MLA):
                attention.kv_cache = attention.pe_cache = attention.indexer.k_cache = None
            else:
                attention.k_cache = attention.v_cache = None
        self.token_cache = None

    @property
    def cache_len(self) -> int:
        """Positions the caches hold (0 when there are none)."""
        return 0 if self.token_cache is None else self.token_cache.size(1)

    # --- forward --------------------------------------------------------------------------------------------------

    def forward(self, tokens: Tensor, start_pos: int = 0, *, last_only: bool = False) -> Tensor:
        """Logits [B, S, vocab] (float32) for tokens [B, S] at positions start_pos..; [B, 1, vocab] if last_only.

        start_pos > 0 continues the sequence in the caches (call `setup_cache` first).
        """
        bsz, seqlen = tokens.shape
        end = start_pos + seqlen
        limit = self.cache_len or self.config.max_seq_len
        if end > limit:
            raise ValueError(f"positions {start_pos}..{end - 1} exceed the context of {limit} tokens")
        if start_pos and self.token_cache is None:
            raise ValueError(f"start_pos={start_pos} needs the caches: call setup_cache() first")
        if self.token_cache is not None:
            self.token_cache[:bsz, start_pos:end] = tokens
        freqs = self._rope(tokens.device)[start_pos:end]
        hash_ids = self._hash_ids(tokens, start_pos)
        h = self.tok_emb(tokens)
        if self.config.mhc_streams:
            h = expand_streams(h, self.config.mhc_streams)
        for block in self.layers:
            h = block(h, start_pos, freqs, hash_ids)
        if self.config.mhc_streams:
            h = collapse_streams(h)
        if last_only:
            h = h[:, -1:]
        h = self.norm(h)
        weight = self.tok_emb.weight if self.output is None else self.output.weight
        return F.linear(h, weight).float()

    def _rope(self, device: torch.device) -> Tensor:
        if device not in self._freqs:
            if self.config.attention == "dsa":
                freqs = precompute_freqs(self.config.dsa_config())
            else:
                freqs = rope_frequencies(self.config.head_dim, self.config.max_seq_len, self.config.rope_theta)
            self._freqs[device] = freqs.to(device)
        return self._freqs[device]

    def _hash_ids(self, tokens: Tensor, start_pos: int) -> dict[int, Tensor]:
        """Every Engram layer's hash ids, computed once per forward; a continuing chunk reads its lookback."""
        if self.hasher is None:
            return {}
        if self.hasher.lookup.device != tokens.device:
            self.hasher.to(tokens.device)
        lookback = None
        if start_pos:
            first = max(0, start_pos - (self.hasher.max_ngram_size - 1))
            lookback = self.token_cache[: tokens.size(0), first:start_pos].flip(-1)  # nearest first
        return self.hasher.hash_all(tokens, lookback)

    # --- sizes ----------------------------------------------------------------------------------------------------

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def num_bytes(self, dtype: torch.dtype = torch.bfloat16) -> int:
        """Bytes of a checkpoint with floating tensors in `dtype` (integer buffers stay as they are)."""
        size = torch.empty(0, dtype=dtype).element_size()
        tensors = self.state_dict().values()
        return sum(t.numel() * (size if t.is_floating_point() else t.element_size()) for t in tensors)


def engram_lookup_for(tokenizer: object, vocab_size: int) -> Tensor:
    """The raw -> compressed id table of a `tokenizers.Tokenizer`, extended to `vocab_size`.

    Ids the tokenizer does not have (a vocabulary padded for alignment) get compressed ids of their own.
    """
    table, _ = build_compression_table(tokenizer)
    if table.size > vocab_size:
        raise ValueError(f"the tokenizer has {table.size} ids but the model only {vocab_size}")
    extra = np.arange(vocab_size - table.size, dtype=np.int64) + int(table.max()) + 1
    return torch.from_numpy(np.concatenate([table, extra]))
