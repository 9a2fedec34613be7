"""The training tokenizer: exact round trips on code, special tokens as single ids, code-aware pieces."""

from __future__ import annotations

import pytest

from engine.templates import WHOLEREPO
from engine.train.tokenizer import EOT, SPECIAL_TOKENS, train_tokenizer

from .conftest import CODE


@pytest.mark.parametrize("text", [*CODE, "x\r\n  y = '\\u00e9'\n", "\x00\x7f odd bytes \u200b", ""])
def test_round_trips_code_exactly(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    assert tokenizer.decode(ids, skip_special_tokens=False) == text


def test_special_tokens_are_single_ids_and_eot_is_zero(tokenizer):
    assert tokenizer.token_to_id(EOT) == 0
    assert set(SPECIAL_TOKENS) == {EOT, *WHOLEREPO.special_tokens}
    for token in SPECIAL_TOKENS:
        ids = tokenizer.encode(f"a{token}b", add_special_tokens=False).ids
        assert tokenizer.token_to_id(token) in ids
        assert len([i for i in ids if i == tokenizer.token_to_id(token)]) == 1


def test_vocabulary_is_bounded(tokenizer):
    assert 256 + len(SPECIAL_TOKENS) < tokenizer.get_vocab_size() <= 600


def test_pieces_respect_line_starts_and_identifier_parts(tokenizer):
    pieces = [piece for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str("    def get_value(self):\n        x")]
    assert pieces[0] == "ĠĠĠĠ"  # the indentation alone (ByteLevel shows a space as Ġ)
    assert "_value" in pieces and "get" not in "".join(pieces[:1])
    assert "Ċ" in pieces  # the newline is its own piece, so a prompt ending at a line start ends on a boundary


def test_rejects_a_vocabulary_too_small_for_bytes():
    with pytest.raises(ValueError, match="256 byte symbols"):
        train_tokenizer(["x = 1\n"], vocab_size=100)
