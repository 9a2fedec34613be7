"""GPU benchmarks (one H200): DSA with our Triton kernels against dense attention, and Engram tables on the host.

``python -m bench.gpu_bench`` on the device machine; writes bench/results/gpu.json (after every figure, so a run
cut short keeps what it measured). Every figure is a ratio against a reference measured in the same run:

- prefill: one DSA attention layer (MLA + lightning indexer, bf16) through the kernels, against the same layer
  with dense causal attention through torch SDPA (flash backend; V is zero-padded to the query head dim when they
  differ, as flash needs one head dim), at 32K, 128K and 1M tokens, for the default model's shape and a
  DeepSeek-V3.2-like shape. A breakdown times the indexer top-k and the sparse attention kernel on their own.
- decode: one new token against a cache of that length: the kernel path against the layer's dense absorbed
  (MQA) torch path over every cached token.
- Engram: a forward of the default decoder with its tables in GPU memory, against tables in pinned host memory
  (rows gathered on the host, with and without the EngramPrefetcher's side-stream copy; or read by the GPU
  from the pinned table through engine.kernels.engram_gather).
- a check first: the kernel path against the layer's torch path at a short length, per shape.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import os
import shutil
import statistics
import time
import traceback
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from engine import kernels
from engine.model.config import EngramSettings, preset
from engine.model.decoder import Decoder
from engine.model.dsa import MLA, DSAConfig, apply_rope, precompute_freqs
from engine.model.engram import EngramPrefetcher

from .report import print_table, save

LENGTHS = (32_768, 131_072, 1_048_576)
DTYPE = torch.bfloat16
DEVICE = "cuda"


def shapes() -> dict[str, DSAConfig]:
    """The default model's attention layer and a DeepSeek-V3.2-like one (128 heads, 512 + 64 latent, 2048 keys)."""
    default = preset("default").dsa_config()
    v32 = DSAConfig(
        dim=7168, n_heads=128, q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64,
        v_head_dim=128, index_n_heads=64, index_head_dim=128, index_topk=2048,
    )  # fmt: skip
    return {"default": default, "v32": v32}


def layer(cfg: DSAConfig, max_len: int) -> tuple[MLA, torch.Tensor]:
    cfg = dataclasses.replace(cfg, max_seq_len=max_len, original_seq_len=max(cfg.original_seq_len, max_len))
    torch.manual_seed(0)
    mla = MLA(cfg)
    for p in mla.parameters():  # weights of a trained layer's scale; norms stay at one
        if p.dim() == 2:
            nn.init.normal_(p, std=p.shape[1] ** -0.5)
    return mla.to(DEVICE, DTYPE).eval(), precompute_freqs(cfg).to(DEVICE)


def dense_prefill(mla: MLA, x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """The same layer with dense causal attention through SDPA's flash kernel (expanded per-head keys and values)."""
    cfg, heads = mla.cfg, mla.n_heads
    bsz, seqlen, _ = x.shape
    q = mla.wq_b(mla.q_norm(mla.wq_a(x))).view(bsz, seqlen, heads, cfg.qk_head_dim)
    q_nope, q_pe = q.split([cfg.qk_nope_head_dim, cfg.qk_rope_head_dim], dim=-1)
    kv, k_pe = mla.wkv_a(x).split([cfg.kv_lora_rank, cfg.qk_rope_head_dim], dim=-1)
    k_pe = apply_rope(k_pe.unsqueeze(2), freqs, interleaved=True)
    k_nope, v = (
        mla.wkv_b(mla.kv_norm(kv)).view(bsz, seqlen, heads, -1).split([cfg.qk_nope_head_dim, cfg.v_head_dim], -1)
    )
    q = torch.cat([q_nope, apply_rope(q_pe, freqs, interleaved=True)], dim=-1)
    k = torch.cat([k_nope, k_pe.expand(-1, -1, heads, -1)], dim=-1)
    v = F.pad(v, (0, cfg.qk_head_dim - cfg.v_head_dim))
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, scale=mla.softmax_scale
        )
    return mla.wo(out.transpose(1, 2)[..., : cfg.v_head_dim].flatten(2))


def gpu_ms(fn: Callable[[], object], reps: int, warmup: bool = True) -> float:
    """Median of `reps` timed calls (CUDA events), after one untimed call when `warmup`."""
    if warmup:
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def free() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def reps_for(length: int) -> int:
    return 5 if length <= 32_768 else 3 if length <= 131_072 else 1


# --- checks -------------------------------------------------------------------------------------------------------


def check_shape(name: str, cfg: DSAConfig) -> dict:
    """Kernel path against the torch path of the same bf16 layer, just past top-k (the torch path holds S x S)."""
    length = cfg.index_topk * 2
    mla, freqs = layer(cfg, length)
    x = torch.randn(1, length, cfg.dim, device=DEVICE, dtype=DTYPE)
    with torch.inference_mode():
        mla.use_kernels = False
        ref = mla(x, 0, freqs).float()
        mla.use_kernels = True
        out = mla(x, 0, freqs).float()
    err = ((out - ref).norm() / ref.norm()).item()
    row_err = ((out - ref).norm(dim=-1) / ref.norm(dim=-1)).flatten()
    free()
    return {"tokens": length, "rel_err": err, "rows_over_5pct": int((row_err > 0.05).sum()), "rows": row_err.numel()}


# --- prefill and decode --------------------------------------------------------------------------------------------


def flops(cfg: DSAConfig, length: int) -> dict:
    """Multiply-adds x 2 of the attention cores (causal: about length^2 / 2 query-key pairs)."""
    pairs = length * length / 2
    return {
        "dense_attention": 2 * pairs * cfg.n_heads * (cfg.qk_head_dim + cfg.v_head_dim),
        "indexer": 2 * pairs * cfg.index_n_heads * cfg.index_head_dim,
        "sparse_attention": 2 * length * min(cfg.index_topk, length) * cfg.n_heads
        * (2 * cfg.kv_lora_rank + cfg.qk_rope_head_dim),
    }  # fmt: skip


def prefill(cfg: DSAConfig, length: int, warmup: bool, dense: bool) -> dict:
    mla, freqs = layer(cfg, length)
    x = torch.randn(1, length, cfg.dim, device=DEVICE, dtype=DTYPE)
    reps = reps_for(length)
    row: dict = {"tokens": length, "flops": flops(cfg, length)}
    with torch.inference_mode():
        mla.use_kernels = True
        row["dsa_ms"] = gpu_ms(lambda: mla(x, 0, freqs), reps, warmup)
        free()
        if length <= 131_072:  # breakdown of the DSA layer's two kernels, on the layer's own tensors
            qr = mla.q_norm(mla.wq_a(x))
            q_idx, k_idx, weights = mla.indexer.queries_keys(x, qr, 0, freqs)
            row["indexer_topk_ms"] = gpu_ms(
                lambda: kernels.indexer_topk(q_idx, k_idx, weights, 0, cfg.index_topk), reps
            )
            if length <= 32_768:  # the scoring kernel alone (it writes all S x S scores; the top-k adds the rest)
                row["index_scores_only_ms"] = gpu_ms(lambda: kernels.index_scores(q_idx, k_idx, weights, 0), reps)
                free()
            indices = kernels.indexer_topk(q_idx, k_idx, weights, 0, cfg.index_topk)
            del q_idx, k_idx, weights
            q = mla.wq_b(qr).view(1, length, cfg.n_heads, cfg.qk_head_dim)
            q_nope, q_pe = q.split([cfg.qk_nope_head_dim, cfg.qk_rope_head_dim], dim=-1)
            q_pe = apply_rope(q_pe, freqs, interleaved=True)
            kv, k_pe = mla.wkv_a(x).split([cfg.kv_lora_rank, cfg.qk_rope_head_dim], dim=-1)
            kv = mla.kv_norm(kv)
            k_pe = apply_rope(k_pe.unsqueeze(2), freqs, interleaved=True).squeeze(2)
            q_latent = torch.einsum("bshd,hdc->bshc", q_nope, mla._absorb_weights()[0])
            del q, q_nope, qr
            row["sparse_attention_ms"] = gpu_ms(
                lambda: kernels.sparse_mla_attention(q_latent, q_pe, kv, k_pe, indices, mla.softmax_scale), reps
            )
            del q_latent, q_pe, kv, k_pe, indices
            free()
        if dense:
            row["dense_ms"] = gpu_ms(lambda: dense_prefill(mla, x, freqs), reps, warmup)
            row["speedup"] = row["dense_ms"] / row["dsa_ms"]
            row["dense_tflops"] = row["flops"]["dense_attention"] / row["dense_ms"] / 1e9
        if "indexer_topk_ms" in row:
            row["indexer_tflops"] = row["flops"]["indexer"] / row["indexer_topk_ms"] / 1e9
            row["sparse_attention_tflops"] = row["flops"]["sparse_attention"] / row["sparse_attention_ms"] / 1e9
    return row


def decode(cfg: DSAConfig, length: int) -> dict:
    """One token at position length - 1 over a cache of random latents (what a real prefill would have written)."""
    mla, freqs = layer(cfg, length)
    mla.setup_cache(1, length)
    for cache in (mla.kv_cache, mla.pe_cache, mla.indexer.k_cache):
        cache.normal_()
    x = torch.randn(1, 1, cfg.dim, device=DEVICE, dtype=DTYPE)
    step = freqs[length - 1 : length]
    with torch.inference_mode():
        mla.use_kernels = True
        dsa = gpu_ms(lambda: mla(x, length - 1, step), 20)
        mla.use_kernels = False
        dense = gpu_ms(lambda: mla(x, length - 1, step, sparse=False), 20)
    return {"tokens": length, "dsa_ms": dsa, "dense_ms": dense, "speedup": dense / dsa}


# --- Engram ---------------------------------------------------------------------------------------------------------


class PrefetchedEngram(nn.Module):
    """Stands in for a block's Engram: takes the rows the prefetcher fetched instead of looking them up."""

    def __init__(self, engram: nn.Module, prefetcher: EngramPrefetcher):
        super().__init__()
        self.inner, self.prefetcher = engram, prefetcher

    def forward(self, hidden: torch.Tensor, hash_ids: torch.Tensor | None = None) -> torch.Tensor:
        return self.inner(hidden, rows=self.prefetcher.rows(self.inner.layer_id))


def engram(table_sizes: tuple[int, int], batch: int = 8, seq_len: int = 4096, rounds: int = 3, steps: int = 10) -> dict:
    """Decoder forwards (batch x seq_len tokens) with the Engram tables in GPU memory vs pinned host memory."""
    config = preset("default", engram=EngramSettings(layer_ids=(1, 5), table_sizes=table_sizes))
    torch.manual_seed(0)
    on_gpu = Decoder(config).to(DEVICE, DTYPE).eval()
    on_host = copy.deepcopy(on_gpu)
    blocks = [block for block in on_host.layers if block.engram is not None]
    for block in blocks:
        block.engram.embedding.to_host()
    host_hasher = copy.deepcopy(on_gpu.hasher).to("cpu")
    prefetcher = EngramPrefetcher.for_layers(host_hasher, [b.engram for b in blocks], DEVICE)
    wrapped = {id(b): PrefetchedEngram(b.engram, prefetcher) for b in blocks}
    plain = {id(b): b.engram for b in blocks}
    tokens_cpu = torch.randint(0, config.vocab_size, (batch, seq_len))
    tokens = tokens_cpu.to(DEVICE)

    def host_sync():
        return on_host(tokens)

    def host_prefetch():
        prefetcher.start(tokens_cpu)
        return on_host(tokens)

    def use(engrams, gpu_reads_host: bool = False):
        """Which Engram modules the blocks run, and whether the GPU reads host rows in place (the default)."""
        for b in blocks:
            b.engram = engrams[id(b)]
            plain[id(b)].embedding.use_kernels = gpu_reads_host

    arms = {
        "gpu": (lambda: on_gpu(tokens), plain, False),
        "host": (host_sync, plain, False),
        "host_prefetch": (host_prefetch, wrapped, False),
        "host_zero_copy": (host_sync, plain, True),
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    with torch.inference_mode():
        use(plain)
        ref = on_gpu(tokens)
        same = torch.equal(ref, host_sync())
        use(wrapped)
        same = same and torch.equal(ref, host_prefetch())
        use(plain, gpu_reads_host=True)
        same = same and torch.equal(ref, host_sync())
        for _ in range(rounds):
            for name, (fn, engrams, gpu_reads_host) in arms.items():
                use(engrams, gpu_reads_host)
                fn()
                torch.cuda.synchronize()
                started = time.perf_counter()
                for _ in range(steps):
                    fn()
                torch.cuda.synchronize()
                times[name].append((time.perf_counter() - started) / steps * 1000)
    table_mb = sum(b.inner.embedding.weight.numel() * 2 for b in wrapped.values()) / 2**20
    best = {name: min(values) for name, values in times.items()}
    return {
        "tokens_per_forward": batch * seq_len,
        "table_sizes": list(table_sizes),
        "table_mb_bf16": table_mb,
        "same_logits": same,
        "ms": best,
        "ms_all_rounds": times,
        "host_slowdown_pct": 100 * (best["host"] / best["gpu"] - 1),
        "host_prefetch_slowdown_pct": 100 * (best["host_prefetch"] / best["gpu"] - 1),
        "host_zero_copy_slowdown_pct": 100 * (best["host_zero_copy"] / best["gpu"] - 1),
    }


# --- driver -------------------------------------------------------------------------------------------------------


def machine() -> dict:
    import triton

    props = torch.cuda.get_device_properties(0)
    return {
        "gpu": props.name,
        "sms": props.multi_processor_count,
        "memory_gb": props.total_memory / 1e9,
        "torch": torch.__version__,
        "triton": triton.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="default,v32", help="comma-separated: default, v32")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)))
    parser.add_argument("--dense-max", type=int, default=131_072, help="longest prefill that also runs dense (v32)")
    parser.add_argument("--dsa-max-v32", type=int, default=131_072, help="longest v32 prefill through DSA")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: check, prefill, decode, engram")
    parser.add_argument("--engram-rounds", type=int, default=3, help="rounds per Engram arm (the best one counts)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() or not kernels.available():
        raise SystemExit("gpu_bench needs a CUDA GPU and Triton")
    skip = set(filter(None, args.skip.split(",")))
    lengths = [int(n) for n in args.lengths.split(",")]
    chosen = {name: cfg for name, cfg in shapes().items() if name in args.shapes.split(",")}
    figures: dict = {"machine": machine(), "shapes": {n: dataclasses.asdict(c) for n, c in chosen.items()}}
    figures.update(check={}, prefill={}, decode={}, engram={}, notes=[])
    out_dir = os.environ.get("OUT")

    def record() -> None:
        path = save("gpu", figures)
        if out_dir:
            shutil.copy(path, os.path.join(out_dir, "gpu.json"))

    def step(part: str, key: str, what: Callable[[], dict]) -> None:
        started = time.perf_counter()
        try:
            figures[part][key] = what()
        except Exception as error:  # noqa: BLE001 - record it and go on to the next figure
            figures[part][key] = {"error": f"{type(error).__name__}: {error}"[-1500:]}
            traceback.print_exc()
        figures[part][key]["wall_s"] = round(time.perf_counter() - started, 1)
        print(part, key, figures[part][key], flush=True)
        try:
            free()
        except Exception as error:  # noqa: BLE001 - a kernel fault leaves the CUDA context unusable
            figures["notes"].append(f"stopped after {part} {key}: the CUDA context is lost ({error})"[:500])
            record()
            raise SystemExit(f"stopped after {part} {key}: the CUDA context is lost") from error
        record()

    def attention(name: str, cfg: DSAConfig) -> None:
        if "check" not in skip:
            step("check", name, lambda: check_shape(name, cfg))
        for i, length in enumerate(lengths):
            if "prefill" not in skip and (name != "v32" or length <= args.dsa_max_v32):
                dense = name != "v32" or length <= args.dense_max
                step("prefill", f"{name}/{length}", lambda n=length, i=i, d=dense: prefill(cfg, n, i == 0, d))
            if "decode" not in skip:
                step("decode", f"{name}/{length}", lambda n=length: decode(cfg, n))

    # the shipped model's shape first, then Engram, then the large shape (the slowest part)
    if "default" in chosen:
        attention("default", chosen["default"])
    if "engram" not in skip:
        step("engram", "default_tables", lambda: engram((8192, 8192), rounds=args.engram_rounds))
        step("engram", "large_tables", lambda: engram((1 << 20, 1 << 20), rounds=args.engram_rounds))
    if "v32" in chosen:
        attention("v32", chosen["v32"])

    rows = []
    for key, row in figures["prefill"].items():
        dense = f"dense {row['dense_ms']:.1f} ms, x{row['speedup']:.2f}" if "dense_ms" in row else "dense not run"
        rows.append((f"prefill {key}", f"DSA {row.get('dsa_ms', float('nan')):.1f} ms; {dense}"))
    for key, row in figures["decode"].items():
        if "dsa_ms" in row:
            rows.append(
                (f"decode {key}", f"DSA {row['dsa_ms']:.3f} ms; dense {row['dense_ms']:.3f} ms, x{row['speedup']:.2f}")
            )
    for key, row in figures["engram"].items():
        if "ms" in row:
            rows.append(
                (
                    f"engram {key}",
                    f"host +{row['host_slowdown_pct']:.1f}%, prefetch +{row['host_prefetch_slowdown_pct']:.1f}%, "
                    f"zero-copy +{row['host_zero_copy_slowdown_pct']:.1f}%",
                )
            )
    print_table("GPU benchmarks", rows or [("nothing", "measured")])


if __name__ == "__main__":
    main()
