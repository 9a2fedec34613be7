"""The `openai` backend against a real vLLM server, the one `make test-vllm` starts with `wholerepo engine vllm`.

tests/vllm/run.py makes the model (tiny and random: tests/vllm/tiny_model.py), serves it, runs these tests and
then stops the server with Ctrl-C. They check plumbing, not completions: FIM through the template reaches the
server and streams, max_tokens holds, a cancelled stream stops the generation, and a repeated long prefix is
served from vLLM's prefix cache, as its /metrics shows. Skipped unless that server is up (conftest.py).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import pytest_asyncio

from engine import BackendError, FimRequest, OpenAIBackend, OpenAISettings

from .tiny_model import REPO

pytestmark = pytest.mark.asyncio
FIM_PREFIX = "def add(a, b):\n    return "
FIM_SUFFIX = "\n\n\nprint(add(1, 2))\n"


def settings_for(target, **overrides) -> OpenAISettings:
    # Random weights would stop at a random EOS: `ignore_eos` (a vLLM sampling field) makes max_tokens the end.
    options = dict(
        base_url=target.url,
        model=target.model,
        tokenizer=target.tokenizer,
        template="qwen-coder",
        fim_mode="template",
        extra_body={"ignore_eos": True},
    )
    return OpenAISettings(**{**options, **overrides})


@pytest_asyncio.fixture
async def backend(vllm_target):
    made = OpenAIBackend(settings_for(vllm_target))
    yield made
    await made.aclose()


def metric(url: str, name: str) -> float:
    """A Prometheus counter or gauge from vLLM's /metrics, summed over its labels."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith((name + "{", name + " ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def collect(stream) -> tuple[list[str], object]:
    texts, last = [], None
    async for delta in stream:
        if delta.text:
            texts.append(delta.text)
        last = delta
    return texts, last


async def test_the_server_reports_the_model_and_its_window(backend, vllm_target):
    status = await backend.check()
    assert "ready" in status and f"{vllm_target.window:,}-token window" in status and "FIM by template" in status
    assert backend.info.tokenizer.exact  # the model folder's tokenizer.json, as the server has it


async def test_fim_through_the_template_streams_and_stops_at_max_tokens(backend):
    # vLLM holds back as many characters as the longest stop string has, less one (12 for <|endoftext|>), in
    # case they start it: the reply must be longer than that to come in several pieces.
    texts, last = await collect(backend.fim(FimRequest(FIM_PREFIX, FIM_SUFFIX, max_tokens=48)))
    assert len(texts) > 1, "the reply came in one piece, not streamed"
    assert last.finish_reason == "length"
    assert last.usage.completion_tokens == 48
    template_prompt = backend.info.template.fim(FIM_PREFIX, FIM_SUFFIX)
    assert template_prompt.startswith("<|fim_prefix|>") and template_prompt.endswith("<|fim_middle|>")
    # That prompt, as tokens: vLLM tokenizes through transformers, which splits the text just before a special
    # token slightly differently from `tokenizers` on its own (one token more on this prompt, measured).
    assert abs(last.usage.prompt_tokens - backend.info.tokenizer.count(template_prompt)) <= 1


async def test_a_cancelled_stream_stops_generating_and_the_next_request_works(backend, vllm_target):
    generated_before = metric(vllm_target.url, "vllm:generation_tokens_total")
    stream = backend.fim(FimRequest(FIM_PREFIX, FIM_SUFFIX, max_tokens=1500))
    pieces = [await anext(stream) for _ in range(3)]
    await stream.aclose()  # what cancelling a completion does: the HTTP response is closed
    assert all(piece.text for piece in pieces)

    deadline = time.monotonic() + 30
    while metric(vllm_target.url, "vllm:num_requests_running") > 0:
        assert time.monotonic() < deadline, "vLLM still runs the cancelled request"
        await asyncio.sleep(0.2)
    assert metric(vllm_target.url, "vllm:generation_tokens_total") - generated_before < 1500

    texts, last = await collect(backend.fim(FimRequest(FIM_PREFIX, FIM_SUFFIX, max_tokens=5)))
    assert texts and last.finish_reason == "length" and last.usage.completion_tokens == 5


async def test_a_repeated_long_prefix_is_served_from_the_prefix_cache(backend, vllm_target):
    source = (REPO / "engine" / "backends" / "openai.py").read_text(encoding="utf-8")
    tokenizer = backend.info.tokenizer
    prefix = tokenizer.decode(tokenizer.encode(source)[:1200])  # longer than several 128-token KV blocks
    hits_before = metric(vllm_target.url, "vllm:prefix_cache_hits_total")
    _, first = await collect(backend.fim(FimRequest(prefix, "\n# one\n", max_tokens=2)))
    _, second = await collect(backend.fim(FimRequest(prefix, "\n# two\n", max_tokens=2)))
    assert first.usage.prompt_tokens > 1000
    assert second.usage.cached_tokens >= 1024  # the shared prefix, in whole blocks
    assert metric(vllm_target.url, "vllm:prefix_cache_hits_total") - hits_before >= second.usage.cached_tokens


async def test_a_suffix_vllm_does_not_take_is_a_clear_error(vllm_target):
    backend = OpenAIBackend(settings_for(vllm_target, fim_mode="suffix", max_retries=0))
    try:
        with pytest.raises(BackendError) as caught:
            await backend.complete_fim(FimRequest(FIM_PREFIX, FIM_SUFFIX, max_tokens=4))
    finally:
        await backend.aclose()
    assert caught.value.kind == "bad_request" and "suffix" in str(caught.value).lower()
