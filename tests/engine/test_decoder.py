"""The decoder: shapes, causality, KV-cache decoding equal to a full forward, checkpoints, preset sizes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from engine.model.config import PRESETS, ModelConfig, preset
from engine.model.decoder import Decoder, engram_lookup_for
from engine.runtime.checkpoint import CheckpointError, load_checkpoint, load_checkpoint_tokenizer, save_checkpoint
from engine.templates import WHOLEREPO
from engine.tokenizer import HFTokenizer

FP32_TOL = 1e-5
BF16_TOL = 0.05  # bf16 keeps ~3 significant digits of each weight; logits here are of order 1

SPECIAL_TOKENS = ["<|endoftext|>", *WHOLEREPO.special_tokens]
TRAINING_TEXT = [
    "def add(a, b):\n    return a + b\n",
    "class Cart:\n    def __init__(self):\n        self.items = []\n",
    "for item in cart.items:\n    total += item.price\n",
    "import os\nfrom pathlib import Path\nprint(Path(os.getcwd()))\n",
    "if x is None:\n    raise ValueError('x is missing')\n",
]

CONFIGS = {
    "dense": preset("tiny"),
    "dense+engram+mhc": preset("tiny-full", attention="dense", dsa=None),
    "dsa": preset("tiny-full", engram=None, mhc_streams=0),
    "dsa+engram": preset("tiny-full", mhc_streams=0),
    "dsa+engram+mhc": preset("tiny-full"),
}
SEQ_LEN = 40  # longer than tiny-full's index_topk, so DSA takes its sparse path


def build_tokenizer() -> HFTokenizer:
    """A byte-level BPE trained on a few lines of code, with the WHOLEREPO markers as special tokens."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(TRAINING_TEXT * 4, trainer)
    return HFTokenizer(name="test-bpe", backend=backend)


def build(config: ModelConfig, seed: int = 0) -> Decoder:
    torch.manual_seed(seed)
    return Decoder(config).eval()


def tokens(config: ModelConfig, batch: int = 2, length: int = SEQ_LEN, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, config.vocab_size, (batch, length), generator=torch.Generator().manual_seed(seed))


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def config(request) -> ModelConfig:
    return CONFIGS[request.param]


@torch.no_grad()
def test_shapes(config):
    model = build(config)
    logits = model(tokens(config))
    assert logits.shape == (2, SEQ_LEN, config.vocab_size)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert model(tokens(config), last_only=True).shape == (2, 1, config.vocab_size)


@torch.no_grad()
def test_future_tokens_do_not_change_earlier_logits(config):
    model = build(config)
    ids = tokens(config)
    changed = ids.clone()
    changed[:, 25] = (changed[:, 25] + 1) % config.vocab_size
    before, after = model(ids), model(changed)
    torch.testing.assert_close(after[:, :25], before[:, :25], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, 25:], before[:, 25:], atol=1e-3)


def assert_chunks_match_full_forward(config: ModelConfig, bounds: list[int]) -> None:
    """Running the sequence through the caches in chunks [bounds[i], bounds[i + 1]) gives the full forward's logits."""
    model = build(config)
    ids = tokens(config)
    full = model(ids)
    model.setup_cache(max_batch_size=2, max_seq_len=64)
    pieces = [model(ids[:, start:end], start) for start, end in zip(bounds, bounds[1:], strict=False)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=FP32_TOL, atol=FP32_TOL)


@torch.no_grad()
def test_incremental_decoding_matches_full_forward(config):
    # a prefill chunk, then single tokens, then 3-token chunks
    assert_chunks_match_full_forward(config, [0, *range(11, 30), *range(30, SEQ_LEN, 3), SEQ_LEN])


@torch.no_grad()
def test_a_dense_prefill_chunk_leaves_the_indexer_keys_for_later_sparse_chunks(config):
    """A first chunk no longer than index_topk runs dense; the sparse chunks after it must still score its keys."""
    first = config.dsa.index_topk if config.attention == "dsa" else 8
    assert_chunks_match_full_forward(config, [0, first, first + 1, SEQ_LEN])


@torch.no_grad()
def test_continuing_from_a_shared_prefix_matches_a_fresh_forward(config):
    """Prefix reuse: the cache holds sequence A; B shares its first 17 tokens and runs only the rest."""
    model = build(config)
    first, second = tokens(config, batch=1, seed=2), tokens(config, batch=1, seed=3)
    second[:, :17] = first[:, :17]
    want = model(second)
    model.setup_cache(max_batch_size=1, max_seq_len=64)
    model(first)
    got = model(second[:, 17:], 17)
    torch.testing.assert_close(got, want[:, 17:], rtol=FP32_TOL, atol=FP32_TOL)


def test_dsa_configs_really_go_sparse():
    for name, config in CONFIGS.items():
        if config.attention == "dsa":
            assert config.dsa.index_topk < SEQ_LEN, name


@torch.no_grad()
def test_positions_need_a_cache_and_stay_inside_the_context():
    config = CONFIGS["dense"]
    model = build(config)
    with pytest.raises(ValueError, match="setup_cache"):
        model(tokens(config, batch=1, length=4), 3)
    with pytest.raises(ValueError, match="context"):
        model(tokens(config, batch=1, length=config.max_seq_len + 1))
    model.setup_cache(1, 16)
    with pytest.raises(ValueError, match="context of 16"):
        model(tokens(config, batch=1, length=4), 14)


# --- configs and presets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PRESETS))
def test_config_json_round_trip(name):
    config = PRESETS[name]
    assert ModelConfig.from_json(config.to_json()) == config


def test_config_rejects_unknown_keys_and_bad_values():
    data = PRESETS["tiny"].to_dict() | {"n_expert": 8}
    with pytest.raises(ValueError, match="n_expert"):
        ModelConfig.from_dict(data)
    with pytest.raises(ValueError, match="attention"):
        preset("tiny", attention="linear")
    with pytest.raises(ValueError, match="Engram layer"):
        preset("tiny-full", n_layers=2)


def test_default_preset_fits_the_size_budget(tmp_path):
    model = build(PRESETS["default"])
    params, size = model.num_params(), model.num_bytes(torch.bfloat16)
    assert 8_000_000 < params < 15_000_000
    assert size < 30_000_000
    folder = save_checkpoint(model, build_tokenizer(), tmp_path / "default")
    assert (folder / "model.safetensors").stat().st_size < 30_000_000


# --- checkpoints --------------------------------------------------------------------------------------------------


def engram_model() -> tuple[Decoder, HFTokenizer]:
    tokenizer = build_tokenizer()
    config = CONFIGS["dsa+engram+mhc"]
    torch.manual_seed(0)
    return Decoder(config, engram_lookup=engram_lookup_for(tokenizer.backend, config.vocab_size)).eval(), tokenizer


@torch.no_grad()
def test_checkpoint_round_trip_fp32_is_exact(tmp_path):
    model, tokenizer = engram_model()
    ids = tokens(model.config)
    folder = save_checkpoint(model, tokenizer, tmp_path / "ckpt", dtype=torch.float32)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    loaded = load_checkpoint(folder)
    assert loaded.config == model.config
    assert torch.equal(loaded.engram_lookup, model.engram_lookup)
    assert not torch.equal(model.engram_lookup, torch.arange(model.config.vocab_size))  # really the tokenizer's
    torch.testing.assert_close(loaded(ids), model(ids), rtol=0, atol=0)
    text = "def add(a, b): return a + b"
    assert load_checkpoint_tokenizer(folder).encode(text) == tokenizer.encode(text)


@torch.no_grad()
def test_checkpoint_round_trip_bf16_is_close(tmp_path):
    model, tokenizer = engram_model()
    ids = tokens(model.config)
    folder = save_checkpoint(model, tokenizer, tmp_path / "ckpt")
    assert json.loads((folder / "config.json").read_text())["attention"] == "dsa"
    loaded = load_checkpoint(folder, dtype=torch.float32)
    assert loaded.engram_lookup.dtype == torch.int64
    torch.testing.assert_close(loaded(ids), model(ids), rtol=0, atol=BF16_TOL)
    half = load_checkpoint(folder, dtype=torch.bfloat16)
    assert half.tok_emb.weight.dtype == torch.bfloat16
    assert torch.isfinite(half(ids)).all()


def test_checkpoint_errors_name_the_folder(tmp_path):
    model, tokenizer = engram_model()
    missing = tmp_path / "nowhere"
    with pytest.raises(CheckpointError, match="nowhere"):
        load_checkpoint(missing)
    folder = save_checkpoint(model, tokenizer, tmp_path / "ckpt", dtype=torch.float16)

    (folder / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match=r"ckpt.*model\.safetensors"):
        load_checkpoint(folder)

    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"ckpt.*missing model\.safetensors"):
        load_checkpoint(folder)

    save_checkpoint(model, tokenizer, folder)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"ckpt.*config\.json"):
        load_checkpoint(folder)

    other = dataclasses.replace(model.config, dim=32)
    other.save(folder / "config.json")
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(folder)


def test_save_refuses_a_tokenizer_larger_than_the_vocabulary(tmp_path):
    model = build(preset("tiny", vocab_size=64))
    with pytest.raises(ValueError, match="64"):
        save_checkpoint(model, build_tokenizer(), tmp_path / "ckpt")
    assert not (tmp_path / "ckpt" / "model.safetensors").exists()


def test_tokenizer_can_be_given_as_a_path(tmp_path: Path):
    model, tokenizer = engram_model()
    tokenizer.backend.save(str(tmp_path / "tokenizer.json"))
    folder = save_checkpoint(model, tmp_path / "tokenizer.json", tmp_path / "ckpt")
    assert load_checkpoint_tokenizer(folder).encode("return a + b") == tokenizer.encode("return a + b")
