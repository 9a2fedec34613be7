"""The local engine on the CPU: prefill and decode speed, time to first token with and without a prefix hit
while typing, and what the `openai` backend adds over a bare HTTP call to the engine's own server.

- Model: the shipped checkpoint (engine/weights/default) when it is there, else the `default` preset with random
  weights — the same size and architecture, and speed does not depend on the weights. The output says which.
- Prefill and decode at 2K and 8K prompts (this repository's Python source): prefill = prompt tokens / the time
  of a cold request for one token; decode = 32 / (time for 33 tokens - time for 1), both with the prompt cached.
  8K is past the default 4,096-token window, so that row runs the same config with max_seq_len raised (random
  weights if the checkpoint's window is shorter).
- Typing: a 3K-token stable context (other files) then the cursor's file as FIM with 8 lines of suffix; a line
  is typed again character by character, one request per keystroke. TTFT with the previous keystroke's prompt
  cached (hit) against the same prompts on an empty cache (cold), measured in between the hits so that both see
  the same load. Goal: hit <= 10% of cold.
- Overhead: the same streamed one-token FIM request through OpenAIBackend and through bare httpx against the
  engine's server on 127.0.0.1 (`wholerepo engine serve` in its own process), alternating; both medians and the
  median of the per-pair differences. The server runs the `tiny` preset here: the figure is the client's cost,
  and a bigger model's time would only add noise to it.

Run: ``python -m bench.engine_bench`` (about 3 minutes on 2 idle cores); writes bench/results/engine.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import torch

from engine import FimRequest, OpenAIBackend, OpenAISettings
from engine.backends.local import LocalBackend
from engine.model.config import preset
from engine.templates import WHOLEREPO

from .report import print_table, save

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = REPO / "engine" / "weights" / "default"
PROMPT_SIZES = (2048, 8192)
LONG_WINDOW = 8192 + 256  # room for the 8K prompt and its 33 generated tokens
DECODE_TOKENS = 32
STABLE_TOKENS = 3000
KEYSTROKES = 16
COLD_EVERY = 7  # keystrokes between cold measurements (2 of them over 15 keystrokes)
OVERHEAD_PAIRS = 100
SPECIAL = ("<|endoftext|>", *WHOLEREPO.special_tokens)
SETTINGS_LINE = "openai backend settings: "


# --- the model ---------------------------------------------------------------------------------------------------


def source_text() -> str:
    """This repository's Python, in a fixed order: realistic code for prompts and for a bench tokenizer."""
    folders = ("engine", "agent", "indexer", "lsp_server")
    files = sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))
    return "\n\n".join(path.read_text(encoding="utf-8") for path in files)


def bench_tokenizer(vocab_size: int):
    """A byte-level BPE of the default model's vocabulary size, trained here on the repository (a few seconds):
    random weights need some tokenizer of the right size, and the default model has none until it is trained."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from engine.tokenizer import HFTokenizer

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator([source_text()], trainer)
    return HFTokenizer(name="bench-bpe", backend=backend)


def random_backend(config, tokenizer) -> LocalBackend:
    """Random weights with the special tokens silenced, so that max_tokens, not a random end-of-text, ends."""
    torch.manual_seed(0)
    backend = LocalBackend.random_init(config, tokenizer, device="cpu")
    if backend.model.config.tie_embeddings:
        with torch.no_grad():
            for token in SPECIAL:
                if (token_id := tokenizer.token_id(token)) is not None:
                    backend.model.tok_emb.weight[token_id] = 0.0
    return backend


def load_models() -> tuple[LocalBackend, LocalBackend, str]:
    """The model for 2K, typing and overhead; the one for 8K; and a line saying what they are."""
    if (DEFAULT_CHECKPOINT / "config.json").is_file():
        model = LocalBackend.from_checkpoint(DEFAULT_CHECKPOINT, device="cpu")
        what = f"trained checkpoint {DEFAULT_CHECKPOINT.relative_to(REPO)}"
        if model.info.context_window >= LONG_WINDOW:
            return model, model, what
        config = dataclasses.replace(model.model.config, max_seq_len=LONG_WINDOW)
        long = random_backend(config, model.tokenizer)
        return model, long, f"{what}; 8K row: its config with random weights and a {LONG_WINDOW}-token window"
    config = preset("default")
    tokenizer = bench_tokenizer(config.vocab_size)
    model = random_backend(config, tokenizer)
    long = random_backend(dataclasses.replace(config, max_seq_len=LONG_WINDOW), tokenizer)
    what = "`default` preset, random weights (no trained checkpoint yet); 8K row with max_seq_len raised"
    return model, long, what


def prompt_of(backend: LocalBackend, text: str, tokens: int) -> str:
    return backend.tokenizer.decode(backend.tokenizer.encode(text)[:tokens])


# --- measurements --------------------------------------------------------------------------------------------------


async def timed(stream) -> tuple[float, object]:
    started = time.perf_counter()
    last = None
    async for delta in stream:
        last = delta
    return time.perf_counter() - started, last


async def speed(backend: LocalBackend, text: str, size: int) -> dict:
    prompt = prompt_of(backend, text, size)
    backend.clear_prefix_cache()
    cold, first = await timed(backend.complete(prompt, max_tokens=1))
    one, _ = await timed(backend.complete(prompt, max_tokens=1))
    many, last = await timed(backend.complete(prompt, max_tokens=DECODE_TOKENS + 1))
    decoded = last.usage.completion_tokens - 1
    return {
        "prompt_tokens": first.usage.prompt_tokens,
        "prefill_s": cold,
        "prefill_tok_s": first.usage.prompt_tokens / cold,
        "decode_tokens": decoded,
        "decode_tok_s": decoded / max(many - one, 1e-9),
    }


def typing_prompts(backend: LocalBackend, text: str) -> list[tuple[str, str]]:
    """(prefix, suffix) per keystroke: a line of engine/backends/local.py typed again after a stable context."""
    # the stable context, leaving room in the model's window for the cursor file's lines and the suffix
    stable = prompt_of(backend, text, min(STABLE_TOKENS, backend.info.context_window - 800))
    lines = (REPO / "engine" / "backends" / "local.py").read_text(encoding="utf-8").split("\n")
    row = next(i for i in range(len(lines) // 2, len(lines)) if len(lines[i].strip()) >= KEYSTROKES)
    before = "\n".join(lines[max(0, row - 30) : row]) + "\n"
    suffix = "\n" + "\n".join(lines[row + 1 : row + 9])
    head = "# engine/backends/local.py\n"
    line = lines[row]
    indent = len(line) - len(line.lstrip())
    return [(stable + head + before + line[: indent + typed], suffix) for typed in range(1, KEYSTROKES + 1)]


async def ttft_typing(backend: LocalBackend, text: str) -> dict:
    prompts = typing_prompts(backend, text)
    backend.clear_prefix_cache()
    await timed(backend.fim(FimRequest(*prompts[0], max_tokens=1)))  # the keystroke before the first measured
    hits, shares, colds = [], [], []
    for keystroke, (prefix, suffix) in enumerate(prompts[1:], 1):
        request = FimRequest(prefix, suffix, max_tokens=1)
        seconds, last = await timed(backend.fim(request))
        hits.append(seconds)
        shares.append(last.usage.cached_tokens / last.usage.prompt_tokens)
        if keystroke % COLD_EVERY == 0:  # the same prompt on an empty cache, amid the hits: both see the same load
            backend.clear_prefix_cache()
            seconds, _ = await timed(backend.fim(request))  # leaves the cache as the hit did
            colds.append(seconds)
    cold, hit = statistics.median(colds), statistics.median(hits)
    return {
        "prompt_tokens": last.usage.prompt_tokens,
        "keystrokes": len(hits),
        "cached_share": statistics.mean(shares),
        "ttft_cold_ms": cold * 1000,
        "ttft_hit_ms": hit * 1000,
        "hit_over_cold": hit / cold,
    }


@contextlib.contextmanager
def engine_server_process(scratch: Path) -> Iterator[dict]:
    """`wholerepo engine serve --random-init tiny` in its own process (as it runs for real: a client in the same
    process would share the GIL with the server and time the hand-overs between them); yields its settings."""
    tokenizer = scratch / "tokenizer.json"
    tokenizer.write_text(bench_tokenizer(512).backend.to_str(), encoding="utf-8")
    argv = [sys.executable, "-m", "lsp_server.cli", "engine", "serve", "--random-init", "tiny"]
    argv += ["--tokenizer", str(tokenizer), "--port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        for line in process.stdout:
            if line.startswith(SETTINGS_LINE):
                yield json.loads(line.removeprefix(SETTINGS_LINE))
                break
        else:
            raise RuntimeError(f"the engine server exited with status {process.wait()} before it was ready")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def openai_overhead() -> dict:
    prefix, suffix = "def total(items):\n    return sum(", ")\n"
    with tempfile.TemporaryDirectory() as scratch, engine_server_process(Path(scratch)) as served:
        url, model = served["base_url"], served["model"]
        client = OpenAIBackend(OpenAISettings(base_url=url, model=model, template="wholerepo", fim_mode="template"))
        body = {
            "model": model,
            "prompt": WHOLEREPO.fim(prefix, suffix),
            "max_tokens": 1,
            "temperature": 0.0,
            "top_p": 1.0,
            "stop": list(WHOLEREPO.stop),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with httpx.AsyncClient(timeout=60) as bare:

            async def bare_call() -> float:
                started = time.perf_counter()
                async with bare.stream("POST", url + "/completions", json=body) as response:
                    lines = [line async for line in response.aiter_lines()]  # to the end, as the backend reads
                assert lines[-2] == "data: [DONE]", lines[-3:]
                return time.perf_counter() - started

            async def backend_call() -> float:
                started = time.perf_counter()
                await client.complete_fim(FimRequest(prefix, suffix, max_tokens=1))
                return time.perf_counter() - started

            await bare_call(), await backend_call()  # connections and caches warm
            pairs = [(await bare_call(), await backend_call()) for _ in range(OVERHEAD_PAIRS)]
        await client.aclose()
    bare_ms = statistics.median(b for b, _ in pairs) * 1000
    client_ms = statistics.median(c for _, c in pairs) * 1000
    overhead_ms = statistics.median(c - b for b, c in pairs) * 1000  # per pair: the machine's drift cancels
    return {"requests": OVERHEAD_PAIRS, "bare_ms": bare_ms, "openai_ms": client_ms, "overhead_ms": overhead_ms}


# --- the run -------------------------------------------------------------------------------------------------------


def progress(step: str) -> None:
    print(f"engine bench: {step}...", file=sys.stderr, flush=True)


async def measure() -> dict:
    started = time.perf_counter()
    progress("loading the model")
    model, long, what = load_models()
    text = source_text()
    parameters = sum(p.numel() for p in model.model.parameters())
    figures: dict = {"model": what, "parameters": parameters, "threads": torch.get_num_threads()}
    figures["speed"] = []
    for size in PROMPT_SIZES:
        progress(f"prefill and decode at {size} tokens")
        figures["speed"].append(await speed(model if size < model.info.context_window else long, text, size))
    await long.aclose()
    progress("typing simulation")
    figures["typing"] = await ttft_typing(model, text)
    await model.aclose()
    progress("openai backend overhead")
    figures["overhead"] = await openai_overhead()
    figures["seconds"] = time.perf_counter() - started
    return figures


def run() -> dict:
    figures = asyncio.run(measure())
    size = f"{figures['parameters'] / 1e6:.1f}M parameters, {figures['threads']} threads"
    rows = [("model", f"{figures['model']}; {size}")]
    for entry in figures["speed"]:
        rows.append(
            (
                f"{entry['prompt_tokens']:,}-token prompt",
                f"prefill {entry['prefill_tok_s']:,.0f} tok/s ({entry['prefill_s']:.2f} s), "
                f"decode {entry['decode_tok_s']:.1f} tok/s",
            )
        )
    typing = figures["typing"]
    goal = "met" if typing["hit_over_cold"] <= 0.10 else "NOT met"
    rows.append(
        (
            f"TTFT typing, {typing['prompt_tokens']:,}-token FIM prompt",
            f"cold {typing['ttft_cold_ms']:.0f} ms, prefix hit {typing['ttft_hit_ms']:.0f} ms "
            f"= {typing['hit_over_cold']:.1%} of cold (goal <= 10%: {goal}); "
            f"{typing['cached_share']:.1%} of prompt tokens reused over {typing['keystrokes']} keystrokes",
        )
    )
    over = figures["overhead"]
    rows.append(
        (
            "openai backend over bare httpx (tiny model)",
            f"{over['overhead_ms']:+.1f} ms a request (median of pairs; medians {over['openai_ms']:.1f} vs "
            f"{over['bare_ms']:.1f} ms, {over['requests']} requests each)",
        )
    )
    rows.append(("bench time", f"{figures['seconds']:.0f} s"))
    print_table("Local engine on the CPU", rows)
    path = save("engine", figures)
    print(f"wrote {path.relative_to(REPO)}")
    return figures


def main() -> None:
    run()


if __name__ == "__main__":
    main()
