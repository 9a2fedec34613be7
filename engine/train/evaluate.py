"""Evaluation of a trained model on held-out data: loss, single-line completion, long-context retrieval.

Every measure runs the inference forward (sparse attention where the config says so, as the local backend runs
it). Completions are scored with teacher forcing: a case counts as an exact match when every target token,
including the closing <|endoftext|>, is the model's top choice given the tokens before it, which is what greedy
decoding would produce token for token (a different tokenisation of the same text counts as a miss). Batches are
padded on the right, which cannot change a causal model's outputs at earlier positions.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from ..model.decoder import Decoder
from ..templates import WHOLEREPO
from .data import eval_starts, windows
from .documents import neutralise
from .dsa_phases import dsa_layers
from .sources import SourceFile
from .tokenizer import EOT

MIN_LINE_CHARS = 6
MAX_LINE_CHARS = 120
LINES_PER_FILE = 3
CHARS_PER_PREFIX_TOKEN = 8  # more characters than any code token has on average
FILLER_FILE_CHARS = 20_000  # enough for any distance; bounds the encoding work per case


@dataclass(frozen=True)
class Case:
    prompt: list[int]
    target: list[int]
    tag: str = ""


@dataclass(frozen=True)
class Scores:
    cases: int
    exact_match: float
    target_nll: float  # mean nats per target token

    def as_dict(self) -> dict:
        return {"cases": self.cases, "exact_match": self.exact_match, "target_nll": self.target_nll}


def use_reference_attention(model: Decoder) -> None:
    """Run DSA through the plain torch path (the verified reference), whatever kernels the machine has."""
    for mla in dsa_layers(model):
        mla.use_kernels = False


@torch.no_grad()
def heldout_loss(model: Decoder, tokens: np.ndarray, seq_len: int, n_windows: int, batch_size: int) -> float:
    """Mean next-token loss (nats) over evenly spaced held-out windows."""
    device = model.tok_emb.weight.device
    starts = eval_starts(tokens.size, seq_len, n_windows)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        x, y = windows(tokens, starts[i : i + batch_size], seq_len, device)
        logits = model(x)
        total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
        count += y.numel()
    return total / count


@torch.no_grad()
def score_cases(model: Decoder, cases: Sequence[Case], batch_size: int, pad_id: int) -> Scores:
    """Teacher-forced exact match and target loss (see the module docstring)."""
    if not cases:
        return Scores(0, math.nan, math.nan)
    device = model.tok_emb.weight.device
    hits, nll, n_tokens = 0, 0.0, 0
    order = sorted(range(len(cases)), key=lambda i: len(cases[i].prompt) + len(cases[i].target))
    for i in range(0, len(order), batch_size):
        batch = [cases[j] for j in order[i : i + batch_size]]
        width = max(len(c.prompt) + len(c.target) for c in batch)
        rows = torch.full((len(batch), width), pad_id, dtype=torch.long)
        for r, case in enumerate(batch):
            ids = case.prompt + case.target
            rows[r, : len(ids)] = torch.tensor(ids)
        logits = model(rows.to(device)).float()
        for r, case in enumerate(batch):
            start = len(case.prompt) - 1
            predicted = logits[r, start : start + len(case.target)]
            target = torch.tensor(case.target, device=device)
            hits += bool((predicted.argmax(-1) == target).all())
            nll += F.cross_entropy(predicted, target, reduction="sum").item()
            n_tokens += len(case.target)
    return Scores(len(cases), hits / len(cases), nll / n_tokens)


# --- single-line completion ---------------------------------------------------------------------------------------


def line_cases(
    files: Sequence[SourceFile],
    tokenizer: Tokenizer,
    n_cases: int,
    prefix_tokens: int = 1024,
    suffix_tokens: int = 256,
    seed: int = 0,
) -> list[Case]:
    """Held-out single-line completions in the FIM format the local backend renders (WHOLEREPO.fim): the cursor
    after a line's indentation, the rest of the line as the target, followed by <|endoftext|> (the model must also
    know where the line ends)."""
    rng = random.Random(seed)
    eot = tokenizer.token_to_id(EOT)
    order = list(files)
    rng.shuffle(order)
    cases: list[Case] = []
    for source in order:
        text = neutralise(source.text)
        lines = text.split("\n")
        offsets = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]])
        usable = [i for i, line in enumerate(lines) if _completable(line)]
        for i in rng.sample(usable, min(LINES_PER_FILE, len(usable))):
            indent = len(lines[i]) - len(lines[i].lstrip())
            begin, end = int(offsets[i]) + indent, int(offsets[i]) + len(lines[i])
            cut = max(0, begin - CHARS_PER_PREFIX_TOKEN * prefix_tokens)  # encode only what can survive the cut
            head = f"{WHOLEREPO.repo_name}{source.package}\n{WHOLEREPO.file_sep}{source.path}\n" if cut == 0 else ""
            prefix = tokenizer.encode(head + text[cut:begin], add_special_tokens=False).ids[-prefix_tokens:]
            suffix = tokenizer.encode(text[end:], add_special_tokens=False).ids[:suffix_tokens]
            rendered = WHOLEREPO.fim(_decode(tokenizer, prefix), _decode(tokenizer, suffix))
            prompt = tokenizer.encode(rendered, add_special_tokens=False).ids
            target = tokenizer.encode(text[begin:end], add_special_tokens=False).ids + [eot]
            cases.append(Case(prompt, target, tag=source.path))
            if len(cases) >= n_cases:
                return cases
    return cases


def _decode(tokenizer: Tokenizer, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False)


def _completable(line: str) -> bool:
    code = line.strip()
    return MIN_LINE_CHARS <= len(code) <= MAX_LINE_CHARS and not code.startswith("#") and line == line.rstrip()


# --- long-context retrieval ---------------------------------------------------------------------------------------


def retrieval_cases(
    files: Sequence[SourceFile], tokenizer: Tokenizer, distances: Sequence[int], per_distance: int, seed: int = 0
) -> list[Case]:
    """A made-up function defined in `defs.py` at the start of a packed multi-file context, `distance` tokens of
    held-out code after it, then a file that imports it: ``from pkg.defs import`` -> `` name``.

    Only the far-back definition tells the model the name (three random words that appear in no filler file).
    """
    rng = random.Random(seed)
    words = _vocabulary(files)
    fillers = list(files)
    cases: list[Case] = []
    for distance in distances:
        for _ in range(per_distance):
            pkg = rng.choice(words)
            name = "_".join(rng.sample(words, 3))
            a, b = rng.sample(words, 2)
            defs = f'"""Helpers for {pkg}."""\n\n\ndef {name}({a}, {b}):\n    return {a} + {b}\n'
            head = f"{WHOLEREPO.repo_name}{pkg}\n{WHOLEREPO.file_sep}{pkg}/defs.py\n{defs}\n"
            filler = _filler(fillers, tokenizer, pkg, name, distance, rng)
            query = f"{WHOLEREPO.file_sep}{pkg}/main.py\nfrom {pkg}.defs import"
            prompt_q = tokenizer.encode(query, add_special_tokens=False).ids
            full_q = tokenizer.encode(f"{query} {name}\n", add_special_tokens=False).ids
            if full_q[: len(prompt_q)] != prompt_q:
                continue
            prompt = tokenizer.encode(head, add_special_tokens=False).ids + filler + prompt_q
            cases.append(Case(prompt, full_q[len(prompt_q) :], tag=f"distance={distance}"))
    return cases


def _vocabulary(files: Sequence[SourceFile]) -> list[str]:
    """Lower-case words of 4-9 letters seen in the files: names the tokenizer knows, combined into new ones."""
    counts: dict[str, int] = {}
    for source in files[:200]:
        for word in re.findall(r"\b[a-z]{4,9}\b", source.text):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(word for word, count in counts.items() if count >= 3)
    if len(words) < 10:
        raise ValueError("too few held-out words to build retrieval cases")
    return words


def _filler(
    files: Sequence[SourceFile], tokenizer: Tokenizer, pkg: str, name: str, distance: int, rng: random.Random
) -> list[int]:
    """Exactly `distance` tokens of other files of the package (file blocks, the last one cut short)."""
    ids: list[int] = []
    while len(ids) < distance:
        source = rng.choice(files)
        if name in source.text:
            continue
        text = neutralise(source.text[:FILLER_FILE_CHARS])
        block = f"{WHOLEREPO.file_sep}{pkg}/{source.path.rpartition('/')[2]}\n{text}\n"
        ids += tokenizer.encode(block, add_special_tokens=False).ids
    return ids[:distance]
