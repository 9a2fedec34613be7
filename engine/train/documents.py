"""Training documents in the exact prompt formats the agent sends the embedded model (agent/context/render.py).

- repo-level: ``<|repo_name|>pkg\\n<|file_sep|>path\\ncode\\n<|file_sep|>path2\\ncode2\\n...<|endoftext|>``, several
  files of one directory per document, so the model learns to read and copy from earlier files;
- fill-in-the-middle, one file of the group holding the hole, the files before it as the agent packs them, in
  WHOLEREPO's order (engine/templates.py): context + ``<|file_sep|>path\\n`` + ``<|fim_suffix|>`` + suffix +
  ``<|fim_prefix|>`` + prefix + ``<|fim_middle|>`` + middle + ``<|endoftext|>``: the middle continues the prefix.

Every group gives a repo-level document and `FimSettings.rate` FIM samples (on average), each sized to fit one
training window (the repo and file headers, the prefix's last characters and the earlier files that fit in
PREFIX_CHARS, the suffix's first SUFFIX_CHARS, a middle of at most MIDDLE_CHARS): a hole is only learnable when
the window holds the text around it, and the sampler starts a share of its windows exactly at a sample
(engine.train.data.BatchSampler). A share `line_rate` of the holes are editor
completions: from after a line's indentation -- or, half of the time, from inside the line, as if the user had
typed its start -- to the end of that line or up to two more (the model learns to stop at a line end); the rest
are random character spans (StarCoder's FIM).
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
    rate: float = 2.0  # FIM samples per group on average, besides the group's repo-level document
    line_rate: float = 0.6  # share of holes that end at a line end (the rest: random character spans)


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
    samples = int(fim.rate) + (rng.random() < fim.rate % 1)
    documents.extend(fim_sample(group, rng.randrange(len(group)), head, rng, fim) for _ in range(samples))
    return documents


def fim_sample(group: list[SourceFile], index: int, head: str, rng: random.Random, fim: FimSettings) -> str:
    """A hole in the group's file `index`, the files before it as packed context, cut to fit one training window."""
    source = group[index]
    text = neutralise(source.text)
    split = line_hole(text, rng) if rng.random() < fim.line_rate else None
    prefix, middle, suffix = split or random_hole(text, rng)
    header = f"{WHOLEREPO.file_sep}{source.path}\n"
    room = PREFIX_CHARS - len(head) - len(header)
    prefix = _tail(prefix, room)
    context = _last_blocks([file_block(earlier) for earlier in group[:index]], room - len(prefix))
    return WHOLEREPO.fim(head + context + header + prefix, _head(suffix, SUFFIX_CHARS)) + middle + EOT


def _last_blocks(blocks: list[str], limit: int) -> str:
    """The last whole blocks that fit in `limit` characters (the packer also packs whole items, nearest last)."""
    kept: list[str] = []
    for block in reversed(blocks):
        if len(block) > limit:
            break
        kept.append(block)
        limit -= len(block)
    return "".join(reversed(kept))


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
    """A hole from after one line's indentation (or, half of the time, from a point inside the line's code) to the
    end of that line or up to two more; None if no code line."""
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
    indent = len(lines[first]) - len(lines[first].lstrip())
    typed = rng.randrange(len(lines[first]) - indent) if rng.random() < 0.5 else 0
    begin = starts[first] + indent + typed
    end = starts[last] + len(lines[last])
    return text[:begin], text[begin:end], text[end:]
