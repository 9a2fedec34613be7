"""Engram's addressing: tokenizer compression, prime table sizes and multiplicative-XOR n-gram hashes.

Engram (DeepSeek, arXiv 2601.07372) looks up a memory row for every n-gram ending at a token. The address of a
row is pure integer arithmetic on token ids, with no parameters, so it lives here, apart from the module:

1. compression: token ids whose text normalises alike (" Apple", "apple", "APPLE") share one compressed id;
2. hashing: the compressed ids of an n-gram are mixed with per-layer odd multipliers and XOR, then reduced
   modulo a prime table size per head; every head of every order of every layer gets a different prime, so
   collisions in one head are unlikely to repeat in another.

The arithmetic follows DeepSeek's demo (``engram_demo_v1.py``) exactly, so hash ids match its reference vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from engine.model.engram import EngramConfig

# Multipliers come from numpy's default_rng(seed + LAYER_SEED_STRIDE * layer_id), as in the demo.
LAYER_SEED_STRIDE = 10007
# A private-use character that stands in for a whitespace-only token while Strip() runs.
_SPACE_SENTINEL = "\ue000"


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer compression
# ---------------------------------------------------------------------------------------------------------------


def _compression_normalizer():
    """NFKC, NFD, strip accents, lowercase, collapse whitespace, strip; a whitespace-only token stays " "."""
    from tokenizers import Regex, normalizers

    return normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.NFD(),
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            normalizers.Replace(Regex(r"[ \t\r\n]+"), " "),
            normalizers.Replace(Regex(r"^ $"), _SPACE_SENTINEL),
            normalizers.Strip(),
            normalizers.Replace(_SPACE_SENTINEL, " "),
        ]
    )


def build_compression_table(tokenizer: Tokenizer) -> tuple[np.ndarray, int]:
    """The raw -> compressed id table of a `tokenizers.Tokenizer`, and the number of compressed ids.

    Each id is decoded on its own and normalised; ids get compressed numbers in order of the first appearance
    of their normalised text. A token that decodes to U+FFFD (a partial UTF-8 byte sequence) has no text worth
    normalising, so its raw token string is its key.
    """
    normalizer = _compression_normalizer()
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    texts = tokenizer.decode_batch([[token_id] for token_id in range(vocab_size)], skip_special_tokens=False)
    key_to_id: dict[str, int] = {}
    table = np.empty(vocab_size, dtype=np.int64)
    for token_id, text in enumerate(texts):
        if "\ufffd" in text:
            key = tokenizer.id_to_token(token_id)
        else:
            key = normalizer.normalize_str(text) or text
        table[token_id] = key_to_id.setdefault(key, len(key_to_id))
    return table, len(key_to_id)


# ---------------------------------------------------------------------------------------------------------------
# Table sizes and multipliers
# ---------------------------------------------------------------------------------------------------------------

_SMALL_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin; these bases are exact for every n below 3.3e24 (table sizes are far smaller)."""
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in _SMALL_PRIMES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def next_unseen_prime(start: int, seen: set[int]) -> int:
    """The smallest prime above `start` that no other head has taken."""
    candidate = start + 1
    while candidate in seen or not is_prime(candidate):
        candidate += 1
    return candidate


def table_primes(
    table_sizes: Sequence[int], n_head_per_ngram: int, layer_ids: Sequence[int]
) -> dict[int, list[list[int]]]:
    """Prime rows per head: ``primes[layer_id][n - 2][head]``.

    Each order's search starts just below its nominal size and each further head continues upward from the
    last one. One `seen` set spans all layers in order, so no two heads anywhere share a modulus.
    """
    seen: set[int] = set()
    primes: dict[int, list[list[int]]] = {}
    for layer_id in layer_ids:
        per_order = []
        for nominal in table_sizes:
            heads, current = [], nominal - 1
            for _ in range(n_head_per_ngram):
                current = next_unseen_prime(current, seen)
                seen.add(current)
                heads.append(current)
            per_order.append(heads)
        primes[layer_id] = per_order
    return primes


def layer_multipliers(
    layer_ids: Sequence[int], max_ngram_size: int, compressed_vocab_size: int, seed: int = 0
) -> dict[int, np.ndarray]:
    """Odd int64 multipliers, one per n-gram position, drawn per layer so layers hash differently.

    They stay below int64.max // compressed_vocab_size, so ``id * multiplier`` never overflows.
    """
    half_bound = max(1, (np.iinfo(np.int64).max // compressed_vocab_size) // 2)
    multipliers = {}
    for layer_id in layer_ids:
        rng = np.random.default_rng(seed + LAYER_SEED_STRIDE * layer_id)
        draws = rng.integers(0, half_bound, size=(max_ngram_size,), dtype=np.int64)
        multipliers[layer_id] = draws * 2 + 1
    return multipliers


# ---------------------------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------------------------


def ngram_hashes(ids: torch.Tensor, multipliers: torch.Tensor, primes: list[list[int]], pad_id: int) -> torch.Tensor:
    """Per-head row indices [B, T, (N-1) * heads] of the n-grams (n = 2..N) ending at each compressed id.

    Token t's n-gram is ids[t-n+1..t]; positions before the sequence read `pad_id`. The mix for order n is
    (s_0 * m_0) XOR ... XOR (s_{n-1} * m_{n-1}) with s_k the ids shifted right by k, so it extends the mix of
    order n - 1 by one term. Head j of order n takes the mix modulo its prime. Heads are ordered n = 2 first.
    """
    max_ngram = len(multipliers)
    seq_len = ids.shape[-1]
    padded = F.pad(ids, (max_ngram - 1, 0), value=pad_id)
    shifted = [padded[..., max_ngram - 1 - k : max_ngram - 1 - k + seq_len] for k in range(max_ngram)]
    mix = shifted[0] * multipliers[0]
    heads = []
    for n in range(2, max_ngram + 1):
        mix = torch.bitwise_xor(mix, shifted[n - 1] * multipliers[n - 1])
        heads.extend(torch.remainder(mix, prime) for prime in primes[n - 2])
    return torch.stack(heads, dim=-1)


@dataclass
class NgramHasher:
    """Raw token ids -> per-head hash ids for every Engram layer; shared by all layers of one model.

    `lookup` is the raw -> compressed table, `pad_id` the compressed pad id. Hash ids are local to each head
    (the embedding adds per-head offsets).
    """

    lookup: torch.Tensor
    pad_id: int
    multipliers: dict[int, torch.Tensor]
    primes: dict[int, list[list[int]]]

    @classmethod
    def from_table(cls, config: EngramConfig, lookup: np.ndarray | torch.Tensor) -> NgramHasher:
        """A hasher for `config` from a raw -> compressed table (see `build_compression_table`)."""
        lookup = torch.as_tensor(np.asarray(lookup), dtype=torch.int64)
        if not 0 <= config.pad_id < lookup.numel():
            raise ValueError(f"pad_id {config.pad_id} is outside the tokenizer's {lookup.numel()} ids")
        compressed_vocab_size = int(lookup.max()) + 1
        multipliers = layer_multipliers(config.layer_ids, config.max_ngram_size, compressed_vocab_size, config.seed)
        return cls(
            lookup=lookup,
            pad_id=int(lookup[config.pad_id]),
            multipliers={layer: torch.from_numpy(m) for layer, m in multipliers.items()},
            primes=table_primes(config.table_sizes, config.n_head_per_ngram, config.layer_ids),
        )

    @classmethod
    def from_tokenizer(cls, config: EngramConfig, tokenizer: Tokenizer) -> NgramHasher:
        return cls.from_table(config, build_compression_table(tokenizer)[0])

    @property
    def max_ngram_size(self) -> int:
        return len(next(iter(self.multipliers.values())))

    def to(self, device: torch.device | str) -> NgramHasher:
        """Move the tables to where the token ids live (hashing is a handful of integer ops on any device)."""
        self.lookup = self.lookup.to(device)
        self.multipliers = {layer: m.to(device) for layer, m in self.multipliers.items()}
        return self

    def compress(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Raw -> compressed ids; negative ids (placeholders) pass through unchanged, as in the demo."""
        token_ids = token_ids.to(device=self.lookup.device, dtype=torch.int64)
        if token_ids.numel() and int(token_ids.max()) >= self.lookup.numel():
            raise ValueError(f"token id {int(token_ids.max())} is outside the tokenizer's {self.lookup.numel()} ids")
        return torch.where(token_ids >= 0, self.lookup[token_ids.clamp_min(0)], token_ids)

    def hash(
        self, token_ids: torch.Tensor, layer_id: int, lookback_token_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hash ids [B, T, heads] for `layer_id` of raw token ids [B, T].

        For a chunk that does not start the sequence (chunked prefill), `lookback_token_ids` [B, L] holds the
        raw ids just before it, nearest first (column c is position start - 1 - c); -1 marks an unknown or
        nonexistent position and reads as the pad id, like the positions before the sequence start.
        """
        if layer_id not in self.multipliers:
            raise ValueError(f"layer {layer_id} has no Engram (layers: {sorted(self.multipliers)})")
        if token_ids.dim() != 2:
            raise ValueError(f"token_ids must be [batch, seq], got shape {tuple(token_ids.shape)}")
        ids = self.compress(token_ids)
        history = 0
        if lookback_token_ids is not None:
            lookback = lookback_token_ids.to(device=ids.device, dtype=torch.int64)
            if lookback.dim() != 2 or lookback.shape[0] != ids.shape[0]:
                raise ValueError(f"lookback_token_ids must be [batch, L], got shape {tuple(lookback.shape)}")
            known = self.compress(lookback)
            known = torch.where(lookback >= 0, known, torch.full_like(known, self.pad_id))
            ids = torch.cat([known.flip(-1), ids], dim=-1)
            history = lookback.shape[1]
        hashes = ngram_hashes(ids, self.multipliers[layer_id], self.primes[layer_id], self.pad_id)
        return hashes[:, history:]

    def hash_all(
        self, token_ids: torch.Tensor, lookback_token_ids: torch.Tensor | None = None
    ) -> dict[int, torch.Tensor]:
        """Hash ids of every Engram layer, keyed by layer id."""
        return {layer: self.hash(token_ids, layer, lookback_token_ids) for layer in self.multipliers}
