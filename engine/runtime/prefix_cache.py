"""One sequence kept in the model's caches between requests, so a prompt sharing its prefix skips that part.

Every cache of the decoder (dense K/V, MLA's latent and indexer caches, the token ids Engram reads as lookback)
is indexed by position, and position p depends only on tokens 0..p. So truncating the cached sequence to a
common prefix is nothing but a shorter `tokens` list: the next `feed` overwrites from there on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..model.decoder import Decoder


class PrefixCache:
    """A decoder with caches for one sequence, and the tokens whose keys and values those caches hold."""

    def __init__(self, model: Decoder, max_seq_len: int | None = None):
        self.model = model
        model.setup_cache(1, max_seq_len)
        self.capacity = model.cache_len  # the most tokens one sequence may have
        self.device = model.tok_emb.weight.device
        self.tokens: list[int] = []

    def reuse(self, prompt: Sequence[int]) -> int:
        """Keep the longest prefix shared with `prompt` and return its length.

        At most len(prompt) - 1: the last prompt token is always run again, since its logits start generation.
        """
        common, limit = 0, min(len(self.tokens), len(prompt) - 1)
        while common < limit and self.tokens[common] == prompt[common]:
            common += 1
        del self.tokens[common:]
        return common

    @torch.no_grad()
    def feed(self, tokens: Sequence[int]) -> Tensor:
        """Run `tokens` after the cached sequence; the logits after the last of them (float32, on the CPU)."""
        start = len(self.tokens)
        if start + len(tokens) > self.capacity:
            raise ValueError(f"{start + len(tokens)} tokens exceed the cache of {self.capacity}")
        ids = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
        logits = self.model(ids, start, last_only=True)[0, -1]
        self.tokens.extend(tokens)  # only once the forward succeeded: a failed one leaves garbage past the end
        return logits.cpu()

    def reset(self) -> None:
        """Forget the cached sequence (the next prompt runs cold)."""
        self.tokens.clear()
