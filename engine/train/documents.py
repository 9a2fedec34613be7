"""Training documents in the exact prompt formats the agent sends the embedded model (agent/context/render.py).

- repo-level: ``<|repo_name|>pkg\\n<|file_sep|>path\\ncode\\n<|file_sep|>path2\\ncode2\\n...<|endoftext|>``, several
  files of one directory per document, so the model learns to read and copy from earlier files;
- fill-in-the-middle (prefix-suffix-middle), the last file of the document holding the hole, the earlier files
  inside the prefix as the agent packs them: ``<|fim_prefix|>`` + context + ``<|file_sep|>path\\n`` + prefix +
  ``<|fim_suffix|>`` + suffix + ``<|fim_middle|>`` + middle + ``<|endoftext|>``.

Every group gives a repo-level document; with probability `FimSettings.rate` it also gives a FIM sample, sized to
fit one training window (the prefix's last PREFIX_CHARS, the suffix's first SUFFIX_CHARS, a middle of at most
MIDDLE_CHARS): a hole is only learnable when the window holds the text around it, and the sampler starts a share
of its windows exactly at a sample (engine.train.data.BatchSampler). Half of the holes are random character spans
(StarCoder's FIM); the other half start after a line's indentation and end at a line end, the shape of an editor's
single-line completion (the model learns to stop there).
Special-token text inside code is broken up as the agent does, so code can never fake structure.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..templates import WHOLEREPO
from .sources import SourceFile
from .tokenizer import EOT, SPECIAL_TOKENS

MAX_HOLE_LINES = 3
PREFIX_CHARS = 4000  # ~1,150 tokens: with the suffix and middle, a sample fits a 2,048-token window
SUFFIX_CHARS = 1000
MIDDLE_CHARS = 800


@dataclass(frozen=True)
class FimSettings:
    rate: float = 1.0  # FIM samples per group (a probability), besides the group's repo-level document
    line_rate: float = 0.5  # share of holes that are whole-line spans (the rest: random character spans)


def neutralise(text: str) -> str:
    """Insert a zero-width space after the first character of every special token (agent/context/render.py)."""
    for token in SPECIAL_TOKENS:
        text = text.replace(token, token[:1] + "\u200b" + token[1:])
    return text


def repo_groups(files: Iterable[SourceFile], max_chars: int) -> list[list[SourceFile]]:
    """Files of one directory, in name order, cut into runs of at most `max_chars` (a larger file stands alone)."""
    by_directory: dict[str, list[SourceFile]] = defaultdict(list)
    for source in files:
        by_directory[source.directory].append(source)
    groups: list[list[SourceFile]] = []
    for directory in sorted(by_directory):
        current: list[SourceFile] = []
        size = 0
        for source in sorted(by_directory[directory], key=lambda s: s.path):
            if current and size + len(source.text) > max_chars:
                groups.append(current)
                current, size = [], 0
            current.append(source)
            size += len(source.text)
        groups.append(current)
    return groups


def file_block(source: SourceFile) -> str:
    return f"{WHOLEREPO.file_sep}{source.path}\n{neutralise(source.text)}\n"


def render_documents(group: list[SourceFile], rng: random.Random, fim: FimSettings) -> list[str]:
    """The training documents of one directory group (see the module docstring)."""
    head = f"{WHOLEREPO.repo_name}{group[0].package}\n"
    documents = [head + "".join(file_block(source) for source in group) + EOT]
    if rng.random() < fim.rate:
        documents.append(fim_sample(group, head, rng, fim))
    return documents


def fim_sample(group: list[SourceFile], head: str, rng: random.Random, fim: FimSettings) -> str:
    """A hole in the group's last file, the earlier files as packed context, cut to fit one training window."""
    *context, last = group
    text = neutralise(last.text)
    split = line_hole(text, rng) if rng.random() < fim.line_rate else None
    prefix, middle, suffix = split or random_hole(text, rng)
    before = head + "".join(file_block(source) for source in context) + f"{WHOLEREPO.file_sep}{last.path}\n" + prefix
    return WHOLEREPO.fim(_tail(before, PREFIX_CHARS), _head(suffix, SUFFIX_CHARS)) + middle + EOT


def _tail(text: str, limit: int) -> str:
    """The last `limit` characters, from a line start when one is near."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < limit // 4 else cut


def _head(text: str, limit: int) -> str:
    """The first `limit` characters, up to a line end when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline > limit * 3 // 4 else cut


def random_hole(text: str, rng: random.Random) -> tuple[str, str, str]:
    """(prefix, middle, suffix): a middle of up to MIDDLE_CHARS at a uniform character position."""
    a = rng.randint(0, len(text))
    b = min(len(text), a + rng.randint(0, MIDDLE_CHARS))
    return text[:a], text[a:b], text[b:]


def line_hole(text: str, rng: random.Random) -> tuple[str, str, str] | None:
    """A hole from after one line's indentation to the end of that line or up to two more; None if no code line."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    candidates = [i for i, line in enumerate(lines) if line.strip()]
    if not candidates:
        return None
    first = rng.choice(candidates)
    last = min(len(lines) - 1, first + rng.randrange(MAX_HOLE_LINES))
    while not lines[last].strip():  # end on a code line, so the hole never swallows a blank line's newline
        last -= 1
    begin = starts[first] + len(lines[first]) - len(lines[first].lstrip())
    end = starts[last] + len(lines[last])
    return text[:begin], text[begin:end], text[end:]
