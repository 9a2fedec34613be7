"""The `local` backend on a tiny random model: streaming, stops, limits, cancelling, prefix reuse; and its parts."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
import torch

from engine import BackendError, ChatMessage, ChatRequest, ContextTooLong, FimRequest
from engine.backends.local import LocalBackend, LocalSettings, render_chat
from engine.model.config import preset
from engine.runtime.checkpoint import save_checkpoint
from engine.runtime.generate import StopMatcher, TextStream, sample_token
from engine.templates import WHOLEREPO
from tests.engine.test_decoder import SPECIAL_TOKENS, build_tokenizer

PREFIX = "import os\nfrom pathlib import Path\n\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n"
FIM = FimRequest(prefix=PREFIX, suffix="\n\nprint(Cart())\n", max_tokens=16)


def make_backend(preset_name: str = "tiny", **options) -> LocalBackend:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    backend = LocalBackend.random_init(preset(preset_name), tokenizer, device="cpu", **options)
    # A random model may pick <|endoftext|> (a stop) at any step; silence the special tokens so that the tests
    # decide when generation ends. Tied embeddings: a zero row gives the logit 0, below the random maximum.
    with torch.no_grad():
        for token in SPECIAL_TOKENS:
            backend.model.tok_emb.weight[tokenizer.token_id(token)] = 0.0
    return backend


@pytest_asyncio.fixture(params=["tiny", "tiny-full"])
async def backend(request):
    backend = make_backend(request.param)
    yield backend
    await backend.aclose()


async def collect(stream):
    return [delta async for delta in stream]


def text_of(deltas) -> str:
    return "".join(delta.text for delta in deltas)


async def drained(backend: LocalBackend) -> None:
    """Wait until the model thread has finished whatever it was running."""
    await backend._call(lambda: None)


# --- the backend --------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_info_says_random_weights(backend):
    info = backend.info
    assert info.backend == "local"
    assert info.template == WHOLEREPO
    assert info.context_window == backend.model.config.max_seq_len
    assert info.exact_tokens
    assert any("untrained random weights" in note for note in info.notes)


@pytest.mark.asyncio
async def test_streams_deltas_until_max_tokens(backend):
    deltas = await collect(backend.fim(FIM))
    assert len(deltas) > 2
    assert all(delta.finish_reason is None and delta.usage is None for delta in deltas[:-1])
    last = deltas[-1]
    assert last.finish_reason == "length"
    assert last.usage.completion_tokens == FIM.max_tokens
    assert last.usage.prompt_tokens == backend.count_tokens(WHOLEREPO.fim(FIM.prefix, FIM.suffix))
    assert text_of(deltas)


@pytest.mark.asyncio
async def test_greedy_is_deterministic(backend):
    first = await backend.complete_fim(FIM)
    backend.clear_prefix_cache()
    assert await backend.complete_fim(FIM) == first
    assert await backend.complete_fim(FIM) == first  # warm: the whole prompt but one token from the cache


@pytest.mark.asyncio
async def test_stop_sequence_cuts_the_text_and_is_not_returned(backend):
    full = await backend.complete_fim(FIM)
    assert len(full) > 6
    stop = full[3:6]
    deltas = await collect(backend.fim(FimRequest(FIM.prefix, FIM.suffix, max_tokens=16, stop=(stop,))))
    assert text_of(deltas) == full[: full.index(stop)]
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage.completion_tokens < FIM.max_tokens


@pytest.mark.asyncio
async def test_seeded_sampling_is_reproducible(backend):
    request = FimRequest(FIM.prefix, FIM.suffix, max_tokens=12, temperature=1.0, top_p=0.9)
    first = await collect(backend.fim(request))
    again = await collect(backend.fim(request))
    assert text_of(first) == text_of(again)
    assert first[-1].usage.completion_tokens == again[-1].usage.completion_tokens
    assert first[-1].usage.completion_tokens <= 12  # sampling may draw a (silenced, not banned) stop token


@pytest.mark.asyncio
async def test_cancelling_the_consumer_stops_the_engine(backend):
    first_delta = asyncio.Event()

    async def consume():
        async for _ in backend.fim(FimRequest(FIM.prefix, max_tokens=100)):
            first_delta.set()

    task = asyncio.create_task(consume())
    await first_delta.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not backend._lock.locked()
    await drained(backend)
    prompt_tokens = backend.count_tokens(WHOLEREPO.fim(FIM.prefix, ""))
    held = len(backend.cache.tokens)
    assert held < prompt_tokens + 10  # far from the 100 tokens asked for
    for _ in range(20):
        await asyncio.sleep(0)
    await drained(backend)
    assert len(backend.cache.tokens) == held  # nothing runs on in the background

    deltas = await collect(backend.fim(FimRequest(FIM.prefix, max_tokens=5)))  # the next request still works
    assert deltas[-1].finish_reason == "length"
    assert deltas[-1].usage.completion_tokens == 5
    assert deltas[-1].usage.cached_tokens > 0


@pytest.mark.asyncio
async def test_aclose_of_the_stream_releases_the_model(backend):
    stream = backend.fim(FimRequest(FIM.prefix, max_tokens=100))
    await anext(stream)
    await stream.aclose()
    assert not backend._lock.locked()
    assert (await collect(backend.fim(FIM)))[-1].usage.completion_tokens == FIM.max_tokens


@pytest.mark.asyncio
async def test_prefix_reuse_gives_the_cold_output(backend):
    await backend.complete_fim(FIM)
    longer = FimRequest(FIM.prefix + "\n    def add(self, item):\n", FIM.suffix, max_tokens=FIM.max_tokens)
    warm = await collect(backend.fim(longer))
    ids_a = backend.tokenizer.encode(WHOLEREPO.fim(FIM.prefix, FIM.suffix))
    ids_b = backend.tokenizer.encode(WHOLEREPO.fim(longer.prefix, longer.suffix))
    common = next(i for i, (a, b) in enumerate(zip(ids_a, ids_b, strict=False)) if a != b)
    assert warm[-1].usage.cached_tokens >= common > 0

    backend.clear_prefix_cache()
    cold = await collect(backend.fim(longer))
    assert cold[-1].usage.cached_tokens == 0
    assert text_of(warm) == text_of(cold)

    again = await collect(backend.fim(longer))
    assert again[-1].usage.cached_tokens == again[-1].usage.prompt_tokens - 1
    assert text_of(again) == text_of(cold)


@pytest.mark.asyncio
async def test_chunked_prefill_gives_the_same_output(backend):
    chunked = make_backend("tiny-full" if backend.model.config.attention == "dsa" else "tiny", prefill_chunk=5)
    try:
        assert await chunked.complete_fim(FIM) == await backend.complete_fim(FIM)
    finally:
        await chunked.aclose()


@pytest.mark.asyncio
async def test_context_too_long(backend):
    with pytest.raises(ContextTooLong, match="context"):
        await backend.complete_fim(FimRequest(PREFIX * 20))


@pytest.mark.asyncio
async def test_generation_stops_at_the_end_of_the_context(backend):
    capacity = backend.info.context_window
    prefix = PREFIX * 20
    while backend.count_tokens(WHOLEREPO.fim(prefix, "")) > capacity - 4:
        prefix = prefix[10:]
    deltas = await collect(backend.fim(FimRequest(prefix, max_tokens=50)))
    usage = deltas[-1].usage
    assert deltas[-1].finish_reason == "length"
    assert usage.completion_tokens == capacity - usage.prompt_tokens + 1 < 50


@pytest.mark.asyncio
async def test_chat_streams_text(backend):
    request = ChatRequest(messages=(ChatMessage("system", "Be brief."), ChatMessage("user", "Add two numbers.")))
    deltas = await collect(backend.chat(ChatRequest(request.messages, max_tokens=8)))
    assert deltas[-1].usage.completion_tokens <= 8
    text, calls = await backend.complete_chat(ChatRequest(request.messages, max_tokens=8))
    assert text == text_of(deltas) and calls == ()


@pytest.mark.asyncio
async def test_closed_backend_refuses_requests():
    backend = make_backend()
    await backend.aclose()
    with pytest.raises(BackendError, match="closed"):
        await backend.complete_fim(FIM)


@pytest.mark.asyncio
async def test_checkpoint_backend(tmp_path):
    source = make_backend("tiny-full")
    want = await source.complete_fim(FIM)
    await source.aclose()
    folder = save_checkpoint(source.model, source.tokenizer, tmp_path / "wholerepo-tiny", dtype=torch.float32)
    backend = LocalBackend.from_settings(LocalSettings(checkpoint=str(folder), device="cpu"))
    try:
        assert backend.info.model == "wholerepo-tiny"
        assert not any("random" in note for note in backend.info.notes)
        assert await backend.complete_fim(FIM) == want
    finally:
        await backend.aclose()


def test_settings_errors_name_the_problem(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.backends.local.DEFAULT_CHECKPOINT", tmp_path / "no-shipped-model")
    with pytest.raises(BackendError, match="checkpoint"):
        LocalBackend.from_settings(LocalSettings())
    with pytest.raises(BackendError, match="missing-model"):
        LocalBackend.from_settings(LocalSettings(checkpoint=str(tmp_path / "missing-model")))
    with pytest.raises(BackendError, match="tokenizer"):
        LocalBackend.from_settings(LocalSettings(random_init="tiny"))


# --- the parts ----------------------------------------------------------------------------------------------------


def test_render_chat():
    messages = (ChatMessage("system", "Be brief."), ChatMessage("user", "Hi"), ChatMessage("assistant", "Hello"))
    assert render_chat(messages) == "System: Be brief.\n\nUser: Hi\n\nAssistant: Hello\n\nAssistant:"


def test_text_stream_never_splits_a_character():
    tokenizer = build_tokenizer()
    text = "naïve café → 北京 ok"
    ids = tokenizer.encode(text)
    assert len(ids) > len(text)  # the non-ASCII characters take several byte tokens each
    stream = TextStream(tokenizer)
    pieces = [stream.push(token) for token in ids]
    assert all("\ufffd" not in piece for piece in pieces)
    assert "".join(pieces) + stream.flush() == text


def test_stop_matcher_holds_back_partial_matches():
    matcher = StopMatcher(["<|end|>", "\nUser:"])
    assert matcher.push("ab<") == "ab"
    assert matcher.push("|e") == ""
    assert matcher.push("x") == "<|ex"  # no longer a stop's beginning
    assert matcher.push("y<|en") == "y"
    assert matcher.push("d|>tail") == ""
    assert matcher.stopped and matcher.flush() == ""

    matcher = StopMatcher(["STOP"])
    assert matcher.push("aST") == "a"
    assert matcher.flush() == "ST"


def test_sample_token():
    logits = torch.tensor([1.0, 3.0, 2.0, -5.0])
    assert sample_token(logits, temperature=0.0, top_p=1.0) == 1
    generator = torch.Generator().manual_seed(0)
    assert {sample_token(logits, 1.0, 0.0, generator) for _ in range(20)} == {1}  # nucleus of one
    peaked = torch.tensor([10.0, 9.0, -10.0, -10.0])
    assert {sample_token(peaked, 1.0, 0.5, generator) for _ in range(20)} == {0}
    draws = {sample_token(logits, 5.0, 1.0, generator) for _ in range(200)}
    assert draws == {0, 1, 2, 3}


def test_openmp_threads_wait_passively_unless_the_user_says_otherwise():
    import os
    import subprocess
    import sys

    probe = "import engine, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    default = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert default.stdout.strip() == "PASSIVE"
    chosen = subprocess.run(
        [sys.executable, "-c", probe], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, capture_output=True, text=True
    )
    assert chosen.stdout.strip() == "ACTIVE"
