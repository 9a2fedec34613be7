"""Counting the tokens of packed text with the backend's tokenizer, remembering what was counted.

Packs are rebuilt on every keystroke from mostly the same spans, so counts of spans are cached by
the text itself (bounded, least recently used first out). Whole texts (files, the repo map) are
counted once per content hash and kept on disk (token_store.py), so a 1M-token pack after a
restart is lookups, not tokenizing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from engine import Tokenizer

from .token_store import TokenStore

CACHE_ENTRIES = 200_000
KEPT_LINE_LISTS = 256  # files' line lists whose spans are remembered (a pack reads a few dozen files)
BATCH_TEXTS = 256  # texts per call to the tokenizer's (multithreaded) batch encoder


class TokenCounter:
    def __init__(self, tokenizer: Tokenizer, max_entries: int = CACHE_ENTRIES, store: TokenStore | None = None) -> None:
        self.tokenizer = tokenizer
        self.store = store if store is not None else TokenStore(None, tokenizer.name)
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()  # the packer and its background jobs share the span cache
        # id(lines) -> (lines, {(start, end): (text, tokens)}); the list is held so its id stays its own
        self._spans: OrderedDict[int, tuple[list[str], dict[tuple[int, int], tuple[str, int]]]] = OrderedDict()

    @property
    def exact(self) -> bool:
        return self.tokenizer.exact

    def count(self, text: str) -> int:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        value = self.tokenizer.count(text)
        self._remember(text, value)
        return value

    def span(self, lines: list[str], start: int, end: int) -> tuple[str, int]:
        """The text of 1-based lines ``start..end`` and its tokens, remembered per list of lines.

        A file's lines are one list per content (FileLines), so a span asked again by a later
        pack is found without joining its text or hashing it for ``count``."""
        with self._lock:
            kept = self._spans.get(id(lines))
            if kept is not None and kept[0] is lines:
                self._spans.move_to_end(id(lines))
                known = kept[1].get((start, end))
                if known is not None:
                    return known
        text = "\n".join(lines[start - 1 : end])
        answer = (text, self.count(text))
        with self._lock:
            kept = self._spans.get(id(lines))
            if kept is None or kept[0] is not lines:
                kept = self._spans[id(lines)] = (lines, {})
                while len(self._spans) > KEPT_LINE_LISTS:
                    self._spans.popitem(last=False)
            kept[1][(start, end)] = answer
        return answer

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts for many texts; the uncached ones go to the tokenizer in one parallel batch."""
        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            for text, value in zip(missing, self.tokenizer.count_many(missing), strict=True):
                self._remember(text, value)
        return [self.count(text) for text in texts]

    def count_keyed(self, entries: Iterable[tuple[str, Callable[[], str]]]) -> dict[str, int]:
        """Counts of whole texts by content key (a hash); a text is loaded and tokenized only when
        its key was never counted before, in batches, and the counts are stored for good."""
        counts: dict[str, int] = {}
        pending: list[tuple[str, str]] = []
        queued: set[str] = set()
        for key, load in entries:
            if key in counts or key in queued:
                continue
            known = self.store.get(key)
            if known is not None:
                counts[key] = known
                continue
            pending.append((key, load()))
            queued.add(key)
            if len(pending) >= BATCH_TEXTS:
                counts.update(self._count_batch(pending))
                pending = []
        counts.update(self._count_batch(pending))
        return counts

    def _count_batch(self, pending: list[tuple[str, str]]) -> dict[str, int]:
        if not pending:
            return {}
        values = self.tokenizer.count_many([text for _, text in pending])
        counted = {key: value for (key, _), value in zip(pending, values, strict=True)}
        self.store.put_many(counted)
        return counted

    def _remember(self, text: str, value: int) -> None:
        with self._lock:
            self._cache[text] = value
            if len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
