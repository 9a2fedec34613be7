"""The pieces of a generation loop that do not touch the model: sampling, incremental detokenising, stop sequences."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from ..tokenizer import Tokenizer

REPLACEMENT_CHAR = "\ufffd"  # what a decoder writes for an incomplete UTF-8 sequence


def sample_token(logits: Tensor, temperature: float, top_p: float, generator: torch.Generator | None = None) -> int:
    """Greedy at temperature 0; else a draw from softmax(logits / temperature) cut to the top-p nucleus."""
    logits = logits.float().flatten()
    if temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        probs, order = probs.sort(descending=True)
        before = probs.cumsum(0) - probs  # mass of the more likely tokens
        probs = probs.masked_fill(before >= top_p, 0.0)
        probs[0] = probs[0].clamp_min(1e-30)  # the most likely token always stays (top_p <= 0)
        return int(order[torch.multinomial(probs, 1, generator=generator)])
    return int(torch.multinomial(probs, 1, generator=generator))


class TextStream:
    """Token ids in, text out, never splitting a character that spans several tokens.

    Decoding each token alone would break byte-level tokens (half a UTF-8 character decodes to U+FFFD) and
    tokenizers that drop a word's leading space at the start of a decode. So the text of a window of ids is
    compared with the text of the same window without the newest; the difference is released only when it does
    not end in an incomplete character.
    """

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix_offset = 0  # start of the window decoded for context
        self.read_offset = 0  # ids before this are already released as text

    def push(self, token_id: int) -> str:
        """The new text that `token_id` completes (often "", while a character is still partial)."""
        self.ids.append(token_id)
        seen = self.tokenizer.decode(self.ids[self.prefix_offset : self.read_offset])
        text = self.tokenizer.decode(self.ids[self.prefix_offset :])
        if len(text) <= len(seen) or text.endswith(REPLACEMENT_CHAR):
            return ""
        self.prefix_offset, self.read_offset = self.read_offset, len(self.ids)
        return text[len(seen) :]

    def flush(self) -> str:
        """Whatever is still held back (at the end of generation), incomplete characters included."""
        seen = self.tokenizer.decode(self.ids[self.prefix_offset : self.read_offset])
        text = self.tokenizer.decode(self.ids[self.prefix_offset :])
        self.prefix_offset = self.read_offset = len(self.ids)
        return text[len(seen) :]


class StopMatcher:
    """Cuts the text stream at the first stop sequence; the stop text itself is never released.

    Text that might be the start of a stop sequence is held back until the next piece decides it.
    """

    def __init__(self, stops: Iterable[str]):
        self.stops = tuple(dict.fromkeys(stop for stop in stops if stop))
        self.text = ""
        self.sent = 0  # text[:sent] is released
        self.stopped = False

    def push(self, piece: str) -> str:
        """The part of `piece` (with earlier held-back text) that is safe to release."""
        if self.stopped:
            return ""
        self.text += piece
        hits = [i for i in (self.text.find(stop, self.sent) for stop in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            return self._release(min(hits))
        return self._release(len(self.text) - self._partial_match())

    def flush(self) -> str:
        """The held-back text, at the end of generation (it never became a stop sequence)."""
        return "" if self.stopped else self._release(len(self.text))

    def _partial_match(self) -> int:
        """Length of the longest tail of the text that is a proper prefix of some stop sequence."""
        longest = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.text) - self.sent), longest, -1):
                if self.text.endswith(stop[:size]):
                    longest = size
                    break
        return longest

    def _release(self, end: int) -> str:
        out, self.sent = self.text[self.sent : end], end
        return out
