"""Checkpoint folders: config.json + model.safetensors + tokenizer.json, all the local engine needs to run.

The weights are stored in a half-precision dtype by default (bf16: the shipped model stays under 30 MB); integer
buffers (Engram's token compression table) keep their dtype. Files are written under a temporary name and
renamed, so an interrupted save never leaves a half-written file under the real name.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from ..model.config import ModelConfig
from ..model.decoder import Decoder
from ..tokenizer import HFTokenizer, TokenizerError, load_tokenizer

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
SAVE_DTYPES = (torch.bfloat16, torch.float16, torch.float32)


class CheckpointError(ValueError):
    """A checkpoint folder that is missing, incomplete or corrupt; the message names the folder."""


def save_checkpoint(
    model: Decoder, tokenizer: str | Path | object, folder: str | Path, *, dtype: torch.dtype = torch.bfloat16
) -> Path:
    """Write `model` and its tokenizer into `folder` (created if needed); returns the folder.

    `tokenizer` is a tokenizer.json path (or a folder holding one), a `tokenizers.Tokenizer`, or an HFTokenizer.
    """
    if dtype not in SAVE_DTYPES:
        raise ValueError(f"checkpoint dtype must be one of {SAVE_DTYPES}, got {dtype}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer_json = _tokenizer_json(tokenizer)
    n_ids = Tokenizer.from_str(tokenizer_json).get_vocab_size(with_added_tokens=True)
    if n_ids > model.config.vocab_size:
        raise ValueError(f"the tokenizer has {n_ids} ids but the model only {model.config.vocab_size}")
    tensors = {
        name: (t.to(dtype) if t.is_floating_point() else t).detach().cpu().contiguous()
        for name, t in model.state_dict().items()
    }
    metadata = {"format": "pt", "dtype": str(dtype).removeprefix("torch.")}
    _atomic(folder / WEIGHTS_FILE, lambda path: save_file(tensors, str(path), metadata=metadata))
    _atomic(folder / CONFIG_FILE, lambda path: model.config.save(path))
    _atomic(folder / TOKENIZER_FILE, lambda path: path.write_text(tokenizer_json, encoding="utf-8"))
    return folder


def load_checkpoint(
    folder: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> Decoder:
    """The model saved in `folder`, on `device` in `dtype`, in eval mode."""
    folder = Path(folder)
    _require_files(folder, CONFIG_FILE, WEIGHTS_FILE)
    try:
        config = ModelConfig.load(folder / CONFIG_FILE)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"checkpoint {folder}: {CONFIG_FILE} is not a valid model config: {error}") from error
    try:
        tensors = load_file(str(folder / WEIGHTS_FILE))
    except Exception as error:  # safetensors raises its own SafetensorError (or OSError) for a damaged file
        raise CheckpointError(f"checkpoint {folder}: cannot read {WEIGHTS_FILE}: {error}") from error
    try:
        model = Decoder(config, engram_lookup=tensors.get("engram_lookup"))
        model.load_state_dict(tensors, strict=True)
    except (RuntimeError, ValueError) as error:
        raise CheckpointError(f"checkpoint {folder}: {WEIGHTS_FILE} does not match {CONFIG_FILE}: {error}") from error
    return model.to(device=device, dtype=dtype).eval()


def load_checkpoint_tokenizer(folder: str | Path) -> HFTokenizer:
    """The tokenizer saved beside the weights."""
    folder = Path(folder)
    _require_files(folder, TOKENIZER_FILE)
    try:
        tokenizer = load_tokenizer(str(folder / TOKENIZER_FILE))
    except TokenizerError as error:
        raise CheckpointError(f"checkpoint {folder}: {error}") from error
    assert isinstance(tokenizer, HFTokenizer)
    return tokenizer


def _require_files(folder: Path, *names: str) -> None:
    if not folder.is_dir():
        raise CheckpointError(f"no checkpoint folder at {folder}")
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {folder} is incomplete: missing {', '.join(missing)}")


def _tokenizer_json(tokenizer: str | Path | object) -> str:
    if isinstance(tokenizer, str | Path):
        path = Path(tokenizer)
        path = path / TOKENIZER_FILE if path.is_dir() else path
        if not path.is_file():
            raise ValueError(f"no tokenizer.json at {tokenizer}")
        return path.read_text(encoding="utf-8")
    backend = getattr(tokenizer, "backend", tokenizer)  # an HFTokenizer wraps a tokenizers.Tokenizer
    if not hasattr(backend, "to_str"):
        raise TypeError(f"cannot save a tokenizer of type {type(tokenizer).__name__}")
    return backend.to_str()


def _atomic(path: Path, write) -> None:
    """Write through `write(tmp_path)`, then rename over `path`."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
