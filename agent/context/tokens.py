"""Counting the tokens of packed text with the backend's tokenizer, remembering what was counted.

Packs are rebuilt on every keystroke from mostly the same spans, so counts are cached by the text
itself (bounded, least recently used first out).
"""

from __future__ import annotations

from collections import OrderedDict

from engine import Tokenizer

CACHE_ENTRIES = 200_000


class TokenCounter:
    def __init__(self, tokenizer: Tokenizer, max_entries: int = CACHE_ENTRIES) -> None:
        self.tokenizer = tokenizer
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._max_entries = max_entries

    @property
    def exact(self) -> bool:
        return self.tokenizer.exact

    def count(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        value = self.tokenizer.count(text)
        self._remember(text, value)
        return value

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts for many texts; the uncached ones go to the tokenizer in one parallel batch."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            for text, value in zip(missing, self.tokenizer.count_many(missing), strict=True):
                self._remember(text, value)
        return [self.count(text) for text in texts]

    def _remember(self, text: str, value: int) -> None:
        self._cache[text] = value
        if len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
