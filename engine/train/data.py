"""The prepared corpus: a tokenizer and two token streams (train, held out) on disk, and batches drawn from them.

`prepare_data` runs once per machine and every training run (and every ablation arm) reads the same folder, so
all of them see the same tokens:

    tokenizer.json   the BPE tokenizer (trained on a sample of the training files, or the one given)
    train.bin        uint16 token ids of the training documents, shuffled, end to end
    val.bin          the same for the held-out directories' documents (held-out loss)
    heldout.jsonl    the held-out files themselves (path, text): single-line completion and retrieval cases
    data.json        counts, sizes and timings
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from .documents import FimSettings, render_documents, repo_groups
from .sources import SourceFile, interpreter_description, is_held_out, iter_sources
from .tokenizer import DEFAULT_VOCAB_SIZE, train_tokenizer

TOKENIZER_FILE = "tokenizer.json"
TRAIN_FILE = "train.bin"
VAL_FILE = "val.bin"
HELDOUT_FILE = "heldout.jsonl"
INFO_FILE = "data.json"
TOKEN_DTYPE = np.uint16
ENCODE_BATCH = 512


@dataclass(frozen=True)
class DataSettings:
    vocab_size: int = DEFAULT_VOCAB_SIZE
    tokenizer: str | None = None  # an existing tokenizer.json to reuse instead of training one
    tokenizer_sample_chars: int = 48_000_000  # training text the tokenizer learns its merges from
    held_out_percent: float = 2.0
    doc_chars: int = 8000  # repo-level documents hold files of one directory up to this many characters
    fim: FimSettings = FimSettings()
    max_files: int | None = None  # a small corpus for tests
    seed: int = 0


def prepare_data(
    out: str | Path,
    settings: DataSettings = DataSettings(),
    files: list[SourceFile] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Build the folder described in the module docstring from `files` (the interpreter's sources by default)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = files if files is not None else list(iter_sources(max_files=settings.max_files))
    if not files:
        raise ValueError("no Python source files found to train on")
    train_files = [f for f in files if not is_held_out(f, settings.held_out_percent)]
    held_files = [f for f in files if is_held_out(f, settings.held_out_percent)]
    if not train_files or not held_files:
        raise ValueError(f"{len(files)} files give an empty train or held-out split; use more files")
    log(f"corpus: {len(files)} files, {sum(len(f.text) for f in files) / 1e6:.1f} M chars; held out {len(held_files)}")
    read_s = time.perf_counter() - started

    rng = random.Random(settings.seed)
    if settings.tokenizer:
        tokenizer = Tokenizer.from_file(settings.tokenizer)
    else:
        sample = _sample_texts(train_files, settings.tokenizer_sample_chars, rng)
        tokenizer = train_tokenizer(sample, settings.vocab_size)
    tokenizer_s = time.perf_counter() - started - read_s
    _atomic_write(out / TOKENIZER_FILE, tokenizer.to_str())
    log(f"tokenizer: {tokenizer.get_vocab_size()} ids in {tokenizer_s:.1f} s")

    counts = {}
    for name, split in ((TRAIN_FILE, train_files), (VAL_FILE, held_files)):
        groups = repo_groups(split, settings.doc_chars)
        documents = [doc for group in groups for doc in render_documents(group, rng, settings.fim)]
        rng.shuffle(documents)
        ids = encode_documents(tokenizer, documents)
        _atomic_write_array(out / name, ids)
        counts[name] = {"documents": len(documents), "tokens": int(ids.size), "chars": sum(map(len, documents))}
        log(f"{name}: {len(documents)} documents, {ids.size / 1e6:.2f} M tokens")
    heldout = "".join(json.dumps({"path": f.path, "text": f.text}) + "\n" for f in held_files)
    _atomic_write(out / HELDOUT_FILE, heldout)
    info = {
        "interpreter": interpreter_description(),
        "files": {"train": len(train_files), "held_out": len(held_files)},
        "chars": {"train": sum(len(f.text) for f in train_files), "held_out": sum(len(f.text) for f in held_files)},
        "streams": counts,
        "vocab_size": tokenizer.get_vocab_size(),
        "chars_per_token": counts[TRAIN_FILE]["chars"] / max(1, counts[TRAIN_FILE]["tokens"]),
        "settings": {
            "held_out_percent": settings.held_out_percent,
            "doc_chars": settings.doc_chars,
            "fim_rate": settings.fim.rate,
            "fim_line_rate": settings.fim.line_rate,
            "tokenizer_sample_chars": settings.tokenizer_sample_chars,
            "seed": settings.seed,
        },
        "seconds": {"read": read_s, "tokenizer": tokenizer_s, "total": time.perf_counter() - started},
    }
    _atomic_write(out / INFO_FILE, json.dumps(info, indent=2))
    return info


def encode_documents(tokenizer: Tokenizer, documents: list[str]) -> np.ndarray:
    """All documents' ids end to end (each document ends in <|endoftext|>), encoded on all cores."""
    if tokenizer.get_vocab_size() > np.iinfo(TOKEN_DTYPE).max + 1:
        raise ValueError(f"{tokenizer.get_vocab_size()} ids do not fit {np.dtype(TOKEN_DTYPE).name}")
    parts = []
    for start in range(0, len(documents), ENCODE_BATCH):
        batch = tokenizer.encode_batch(documents[start : start + ENCODE_BATCH], add_special_tokens=False)
        parts.extend(np.asarray(encoding.ids, dtype=TOKEN_DTYPE) for encoding in batch)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=TOKEN_DTYPE)


def _sample_texts(files: list[SourceFile], max_chars: int, rng: random.Random) -> list[str]:
    order = list(range(len(files)))
    rng.shuffle(order)
    texts, total = [], 0
    for index in order:
        if total >= max_chars:
            break
        texts.append(files[index].text)
        total += len(files[index].text)
    return texts


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _atomic_write_array(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    array.tofile(tmp)
    tmp.replace(path)


# --- reading ------------------------------------------------------------------------------------------------------


class PreparedData:
    """A folder written by `prepare_data`, opened read-only."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        missing = [n for n in (TOKENIZER_FILE, TRAIN_FILE, VAL_FILE, HELDOUT_FILE) if not (self.folder / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{self.folder} is not a prepared data folder: missing {', '.join(missing)}")
        self.tokenizer_path = self.folder / TOKENIZER_FILE
        self.tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        self.train = np.memmap(self.folder / TRAIN_FILE, dtype=TOKEN_DTYPE, mode="r")
        self.val = np.memmap(self.folder / VAL_FILE, dtype=TOKEN_DTYPE, mode="r")

    def heldout_files(self) -> list[SourceFile]:
        lines = (self.folder / HELDOUT_FILE).read_text(encoding="utf-8").splitlines()
        return [SourceFile(**json.loads(line)) for line in lines if line]

    def info(self) -> dict:
        path = self.folder / INFO_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def document_starts(tokens: np.ndarray, eot_id: int, marker_id: int) -> np.ndarray:
    """Offsets where the documents holding `marker_id` begin (the token after the previous <|endoftext|>)."""
    starts = np.concatenate([[0], np.flatnonzero(tokens == eot_id) + 1])
    marked = np.flatnonzero(tokens == marker_id)
    return np.unique(starts[np.searchsorted(starts, marked, side="right") - 1])


class BatchSampler:
    """Random windows of seq_len + 1 tokens (input and shifted target), from a seeded generator: the same seed
    gives the same batches on every run, so ablation arms and reruns see identical data.

    With `anchors` (token offsets, e.g. where FIM samples start), a share `anchor_rate` of the windows starts at
    a random anchor instead of a uniform offset, so a sample sized to a window is seen whole.
    """

    def __init__(
        self,
        tokens: np.ndarray,
        seq_len: int,
        batch_size: int,
        seed: int = 0,
        anchors: np.ndarray | None = None,
        anchor_rate: float = 0.5,
    ):
        if tokens.size <= seq_len + 1:
            raise ValueError(f"a stream of {tokens.size} tokens is too short for windows of {seq_len + 1}")
        self.tokens, self.seq_len, self.batch_size = tokens, seq_len, batch_size
        self.rng = np.random.default_rng(seed)
        last = tokens.size - seq_len - 1
        self.anchors = None if anchors is None else anchors[anchors < last]
        if self.anchors is not None and self.anchors.size == 0:
            self.anchors = None
        self.anchor_rate = anchor_rate

    def next(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        starts = self.rng.integers(0, self.tokens.size - self.seq_len - 1, size=self.batch_size)
        if self.anchors is not None:
            anchored = self.rng.random(self.batch_size) < self.anchor_rate
            starts[anchored] = self.rng.choice(self.anchors, size=int(anchored.sum()))
        return windows(self.tokens, starts, self.seq_len, device)


def windows(
    tokens: np.ndarray, starts: np.ndarray, seq_len: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets [len(starts), seq_len] (int64) of the windows starting at `starts`."""
    rows = np.stack([np.asarray(tokens[s : s + seq_len + 1], dtype=np.int64) for s in starts])
    batch = torch.from_numpy(rows)
    if str(device).startswith("cuda"):
        batch = batch.pin_memory().to(device, non_blocking=True)
    return batch[:, :-1], batch[:, 1:]


def eval_starts(n_tokens: int, seq_len: int, n_windows: int) -> np.ndarray:
    """Evenly spaced, non-overlapping where the stream allows: a fixed held-out set."""
    last = n_tokens - seq_len - 1
    if last < 0:
        raise ValueError(f"a stream of {n_tokens} tokens is too short for windows of {seq_len + 1}")
    count = max(1, min(n_windows, last // seq_len + 1))
    return np.linspace(0, last, count).astype(np.int64)
