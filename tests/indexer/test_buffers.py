"""Incremental buffer updates give exactly what a fresh parse and full extraction give."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from indexer.buffers import Buffers, diff_range
from indexer.extract import Extractor
from indexer.languages import language_for_path
from indexer.model import ParsedFile
from indexer.statements import starts_lines, statements_of

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


LINE_SNIPPETS = [
    "def added(a, b):\n    return a + b\n",
    "# a comment about what follows\n",
    "class Added:\n    value = 1\n\n    def method(self):\n        return self.value\n",
    "import textwrap as tw\n",
    "__all__ = ['added']\n",
    "x = (\n",
    "    indented = 1\n",
    '"""\n',
    "@decorator\n",
    "if True:\n    def maybe():\n        pass\n",
    "VALUE = 2 \\\n",
    "\n",
]


def line_edit(rng: random.Random, text: str) -> str:
    """Edits of whole lines, as pastes and line deletions make them, plus small in-line typing."""
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    roll = rng.random()
    if roll < 0.45:
        return "".join(lines[:at] + [rng.choice(LINE_SNIPPETS)] + lines[at:])
    if roll < 0.7 and lines:
        return "".join(lines[:at] + lines[at + rng.randrange(1, 4) :])
    if roll < 0.85 and at < len(lines):
        line = lines[at]
        column = rng.randrange(len(line))
        typed = line[:column] + rng.choice(["x", "_", " ", "(", ":"]) + line[column:]
        return "".join(lines[:at] + [typed] + lines[at + 1 :])
    return random_edit(rng, text)


@pytest.mark.parametrize("seed", range(10))
def test_line_edits_to_a_real_module_match_full_extraction(seed):
    """Most of these take the statement-snippet path (an error-free file, whole lines); the rest
    leave syntax errors behind and exercise the reparse of a tree that missed snippet edits."""
    import textwrap

    rng = random.Random(seed)
    path = "wrap.py"
    extractor = Extractor(language_for_path(path))
    buffers = Buffers()
    text = Path(textwrap.__file__).read_text(encoding="utf-8")
    buffers.extract(path, text.encode(), extractor)
    snippet_updates = 0
    clean_text, broken = text, False
    for _ in range(80):
        text = clean_text if broken and rng.random() < 0.5 else line_edit(rng, text)  # sometimes an undo
        source = text.encode()
        incremental = buffers.extract(path, source, extractor)
        snippet_updates += buffers._buffers[path].stale is not None
        tree = extractor.parse(source)
        full = extractor.extract(tree, source)
        # With syntax errors (or statements indented at the top level, which this grammar accepts),
        # tree-sitter's recovery in an incremental reparse may differ from a fresh parse.
        broken = not starts_lines(source, statements_of(tree.root_node)) or bool(full.error_count)
        if not broken:
            assert canonical(incremental) == canonical(full), text
            clean_text = text
    assert snippet_updates >= 8, snippet_updates
