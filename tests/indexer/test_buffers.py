"""Incremental buffer updates give exactly what a fresh parse and full extraction give."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from indexer.buffers import Buffers, diff_range
from indexer.extract import Extractor
from indexer.languages import language_for_path
from indexer.model import ParsedFile

REPOS = Path(__file__).resolve().parent.parent / "fixtures" / "repos"
PYTHON_SOURCE = '''"""A module."""
import os
from .models import Cart


class Shop:
    """Sells things."""

    def __init__(self, name):
        self.name = name

    def sell(self, cart: Cart) -> float:
        return sum(i.price for i in cart.items)


def helper(x):
    # Add one.
    return x + 1


VALUE = helper(41)
'''

SNIPPETS = [
    "\ndef added(a, b):\n    return a + b\n",
    "x",
    "\n\n",
    "class Inner:\n    pass\n",
    '"""',
    "(",
    "# comment\n",
    "import sys\n",
    "    def method(self):\n        return self\n",
]


def canonical(parsed: ParsedFile) -> tuple:
    references = {name: sorted(zip(flat[::2], flat[1::2], strict=True)) for name, flat in parsed.references.items()}
    return (parsed.definitions, sorted(parsed.imports, key=repr), references, parsed.exports, parsed.line_count)


def random_edit(rng: random.Random, text: str) -> str:
    start = rng.randrange(len(text) + 1)
    if rng.random() < 0.4 and text:
        end = min(len(text), start + rng.randrange(1, 40))
        return text[:start] + text[end:]
    return text[:start] + rng.choice(SNIPPETS) + text[start:]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "path, initial",
    [("shop.py", PYTHON_SOURCE), ("cart.ts", (REPOS / "typescript").rglob("*.ts").__next__().read_text())],
)
def test_incremental_extraction_matches_full_extraction(seed, path, initial):
    rng = random.Random(seed)
    extractor = Extractor(language_for_path(path))
    buffers = Buffers()
    text = initial
    buffers.extract(path, text.encode(), extractor)
    for _ in range(40):
        text = random_edit(rng, text)
        source = text.encode()
        incremental = buffers.extract(path, source, extractor)
        full = extractor.extract(extractor.parse(source), source)
        assert canonical(incremental) == canonical(full), text


def test_diff_range_finds_the_single_changed_span():
    assert diff_range(b"abcdef", b"abcdef") is None
    edit = diff_range(b"hello world", b"hello brave world")
    assert (edit.start, edit.old_end, edit.new_end) == (6, 6, 12)
    edit = diff_range(b"aaaa", b"aa")
    assert edit.old_end - edit.start == 2 and edit.new_end == edit.start
