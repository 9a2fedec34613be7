"""Train the embedded model's byte-level BPE tokenizer on Python source, with code-aware pre-tokenisation.

Pre-tokenisation (a regex split before BPE; merges never cross its pieces):

- newline runs are pieces of their own, and so is the indentation run at the start of a line, so a prompt that
  ends at a line start (or after the indentation an editor already typed) ends on a token boundary the model
  saw in training;
- identifiers split at case changes and before underscores (``get_value`` -> ``get`` ``_value``,
  ``HTTPServer`` -> ``HTTP`` ``Server``), with at most one leading space attached (`` self``);
- digits in groups of at most three; punctuation runs with an optional leading space; other spaces.

Then the ByteLevel mapping: every byte has a symbol, so any text encodes (no unknown token) and decodes back
exactly. The special tokens are the WHOLEREPO template's markers, with ``<|endoftext|>`` as id 0 (Engram reads
id 0 before the sequence start).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from ..templates import WHOLEREPO

EOT = "<|endoftext|>"
SPECIAL_TOKENS: tuple[str, ...] = (EOT, *WHOLEREPO.special_tokens)
DEFAULT_VOCAB_SIZE = 16384

_WORD = r"(?:\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+)"
PRETOKENIZE_PATTERN = "|".join(
    [
        r"(?:\r?\n)+",  # newline runs
        r"^[ \t]+",  # indentation (^ is a line anchor in the Oniguruma syntax `tokenizers` uses)
        rf" ?_*{_WORD}",  # identifier parts, underscores leading
        r" ?_+",  # bare underscores (the tail of __init__)
        r"\p{N}{1,3}",
        r" ?[^\s\p{L}\p{N}_]+",  # punctuation and operators
        r"[ \t]+",
        r"\s",
    ]
)


def pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def new_tokenizer() -> Tokenizer:
    """An untrained tokenizer with the pipeline above."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizer()
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE, min_frequency: int = 2) -> Tokenizer:
    """A BPE tokenizer of at most `vocab_size` ids (special tokens and the 256 byte symbols included)."""
    if vocab_size < len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size {vocab_size} cannot hold the 256 byte symbols and the special tokens")
    tokenizer = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_batches(texts), trainer)
    return tokenizer


def _batches(texts: Iterable[str], size: int = 256) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
