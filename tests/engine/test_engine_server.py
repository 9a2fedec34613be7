"""The local engine's OpenAI-compatible server, for real: uvicorn on 127.0.0.1, driven by the project's `openai`
backend and by plain httpx for the wire format.

The model is the `tiny` preset with random weights (plumbing only: its text is noise) and a 1,024-token context,
its special tokens silenced so that max_tokens, not a random end-of-text, ends a generation.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import pytest_asyncio
import torch

from engine import BackendError, ChatMessage, ChatRequest, ContextTooLong, FimRequest, OpenAIBackend, OpenAISettings
from engine.backends.local import LocalBackend, render_chat
from engine.model.config import preset
from engine.server import EngineServeError, bind, start_in_thread
from engine.templates import WHOLEREPO
from tests.engine.test_decoder import SPECIAL_TOKENS, build_tokenizer

pytestmark = pytest.mark.asyncio
MODEL = "tiny-engine"
CONTEXT = 1024
PREFIX = "import os\nfrom pathlib import Path\n\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n"
SUFFIX = "\n\nprint(Cart())\n"
GENEROUS = 60.0  # seconds; only a ceiling for waits that take milliseconds here


def tiny_backend() -> LocalBackend:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    backend = LocalBackend.random_init(preset("tiny", max_seq_len=CONTEXT), tokenizer, device="cpu")
    with torch.no_grad():  # tied embeddings: a zero row gives logit 0, below the random maximum
        for token in SPECIAL_TOKENS:
            backend.model.tok_emb.weight[tokenizer.token_id(token)] = 0.0
    return backend


@pytest.fixture(scope="module")
def server():
    backend = tiny_backend()
    with start_in_thread(backend, model_name=MODEL) as running:
        yield running


@pytest_asyncio.fixture
async def make_client(server):
    made: list[OpenAIBackend] = []

    def factory(**overrides) -> OpenAIBackend:
        options = dict(base_url=server.url, model=MODEL, template="wholerepo", tokenizer=None, max_retries=0)
        client = OpenAIBackend(OpenAISettings(**{**options, **overrides}))
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


@pytest_asyncio.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=GENEROUS) as client:
        yield client


async def collect(stream) -> tuple[str, list, object]:
    deltas = [delta async for delta in stream]
    return "".join(delta.text for delta in deltas), deltas, deltas[-1]


def metrics(server) -> dict[str, float]:
    values = {}
    for line in httpx.get(server.url.removesuffix("/v1") + "/metrics", timeout=GENEROUS).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name.split("{")[0].removeprefix("wholerepo:")] = float(value)
    return values


async def sse_payloads(http: httpx.AsyncClient, path: str, body: dict) -> list:
    """Every `data:` value of a streamed reply, JSON decoded except the final [DONE]."""
    out = []
    async with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                out.append(data if data == "[DONE]" else json.loads(data))
    return out


# --- through the project's openai backend --------------------------------------------------------------------------


async def test_the_openai_backend_finds_the_model_and_its_window(make_client):
    client = make_client()
    status = await client.check()
    assert status.startswith(f"openai {MODEL} @ ") and "ready" in status
    assert f"{CONTEXT:,}-token window" in status and "FIM by template" in status
    assert client.info.context_window == CONTEXT


async def test_fim_in_the_template_and_by_suffix_stream_the_same_middle(make_client, server):
    request = FimRequest(PREFIX, SUFFIX, max_tokens=12)
    by_template, deltas, last = await collect(make_client(fim_mode="template").fim(request))
    by_suffix, _, last_suffix = await collect(make_client(fim_mode="suffix").fim(request))
    assert len(deltas) > 2, "not streamed"
    assert by_template and by_template == by_suffix  # greedy: the server built the same FIM prompt from `suffix`
    assert last.finish_reason == last_suffix.finish_reason == "length"
    prompt_tokens = server.engine.backend.count_tokens(WHOLEREPO.fim(PREFIX, SUFFIX))
    assert last.usage.prompt_tokens == last_suffix.usage.prompt_tokens == prompt_tokens
    assert last.usage.completion_tokens == 12
    assert last_suffix.usage.cached_tokens == prompt_tokens - 1  # the same prompt again: all but the last token


async def test_a_stop_sequence_cuts_the_reply_before_it(make_client):
    client = make_client()
    full = await client.complete_fim(FimRequest(PREFIX, SUFFIX, max_tokens=24))
    stop = next(full[i : i + 3] for i in range(4, len(full) - 3) if full[i : i + 3].strip())
    text, _, last = await collect(client.fim(FimRequest(PREFIX, SUFFIX, max_tokens=24, stop=(stop,))))
    assert text == full[: full.index(stop)]
    assert last.finish_reason == "stop"


async def test_chat_streams_a_reply(make_client, server):
    messages = (ChatMessage("system", "You write Python."), ChatMessage("user", "Add two numbers."))
    text, deltas, last = await collect(make_client().chat(ChatRequest(messages, max_tokens=10)))
    assert text and len(deltas) > 2
    assert last.finish_reason == "length" and last.usage.completion_tokens == 10
    assert last.usage.prompt_tokens == server.engine.backend.count_tokens(render_chat(messages))


async def test_a_cancelled_stream_stops_the_generation_and_frees_the_model(make_client, server):
    before = metrics(server)
    stream = make_client().fim(FimRequest(PREFIX, SUFFIX, max_tokens=900))
    pieces = [await anext(stream) for _ in range(3)]
    await stream.aclose()  # what the agent does when a newer keystroke arrives: the HTTP response is closed
    assert all(piece.text for piece in pieces)
    deadline = asyncio.get_running_loop().time() + GENEROUS
    while (now := metrics(server))["requests_running"] > 0:
        assert asyncio.get_running_loop().time() < deadline, "the server still runs the cancelled request"
        await asyncio.sleep(0.05)
    assert now["requests_cancelled"] == before["requests_cancelled"] + 1
    prompt_tokens = server.engine.backend.count_tokens(WHOLEREPO.fim(PREFIX, SUFFIX))
    assert now["kv_cache_tokens"] < prompt_tokens + 20  # stopped after a few tokens, not 900

    text, _, last = await collect(make_client().fim(FimRequest(PREFIX, "\n", max_tokens=4)))
    assert text and last.finish_reason == "length" and last.usage.completion_tokens == 4


async def test_a_client_that_hangs_up_before_the_reply_cancels_too(server):
    before = metrics(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=GENEROUS) as client:
        body = {"model": MODEL, "prompt": PREFIX, "max_tokens": 900}  # not streamed: the reply comes at the end
        task = asyncio.ensure_future(client.post("/completions", json=body))
        while metrics(server)["requests_running"] == 0:
            await asyncio.sleep(0.01)
        task.cancel()  # closes the connection before any reply arrived
        with pytest.raises(asyncio.CancelledError):
            await task
    deadline = asyncio.get_running_loop().time() + GENEROUS
    while (now := metrics(server))["requests_running"] > 0:
        assert asyncio.get_running_loop().time() < deadline, "the server still runs the abandoned request"
        await asyncio.sleep(0.05)
    assert now["requests_total"] == before["requests_total"] + 1
    assert now["requests_cancelled"] == before["requests_cancelled"] + 1
    assert now["generation_tokens_total"] == before["generation_tokens_total"]  # it never finished
    prompt_tokens = server.engine.backend.count_tokens(PREFIX)
    assert now["kv_cache_tokens"] < prompt_tokens + 450  # stopped well before its 900 tokens


async def test_a_repeated_prefix_is_served_from_the_prefix_cache(make_client, server):
    client = make_client()
    head = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(20))
    before = metrics(server)
    _, _, first = await collect(client.fim(FimRequest(head + "a = 1\n", SUFFIX, max_tokens=2)))
    _, _, second = await collect(client.fim(FimRequest(head + "b = 2\n", SUFFIX, max_tokens=2)))
    common = server.engine.backend.count_tokens(WHOLEREPO.fim_prefix + head) - 1
    assert second.usage.cached_tokens >= common > 100
    hits = metrics(server)["prefix_cache_hit_tokens_total"] - before["prefix_cache_hit_tokens_total"]
    assert hits == first.usage.cached_tokens + second.usage.cached_tokens


async def test_a_prompt_longer_than_the_context_is_context_too_long(make_client, http):
    long_prefix = "value = compute(value)\n" * 400
    with pytest.raises(ContextTooLong, match="maximum context length is 1024"):
        await make_client().complete_fim(FimRequest(long_prefix, SUFFIX, max_tokens=4))
    response = await http.post("/completions", json={"model": MODEL, "prompt": long_prefix, "stream": True})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


async def test_an_unknown_model_is_named(make_client):
    client = make_client(model="gpt-9")
    with pytest.raises(BackendError) as caught:
        await client.complete_fim(FimRequest(PREFIX, SUFFIX, max_tokens=2))
    assert caught.value.kind == "unknown_model" and "gpt-9" in str(caught.value)
    assert f"model not served (the server has: {MODEL})" in await client.check()


# --- the wire format ---------------------------------------------------------------------------------------------


async def test_completion_chunks_end_with_usage_and_done(http):
    body = {"model": MODEL, "prompt": PREFIX, "max_tokens": 6, "stream": True}
    body["stream_options"] = {"include_usage": True}
    payloads = await sse_payloads(http, "/completions", body)
    assert payloads[-1] == "[DONE]"
    *chunks, usage_chunk, _ = payloads
    assert {chunk["object"] for chunk in chunks} == {"text_completion"}
    assert len({chunk["id"] for chunk in payloads[:-1]}) == 1
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks][-1] == "length"
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["completion_tokens"] == 6 and usage["total_tokens"] == usage["prompt_tokens"] + 6
    assert "cached_tokens" in usage["prompt_tokens_details"]


async def test_chat_chunks_carry_the_role_first(http):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": True}
    payloads = await sse_payloads(http, "/chat/completions", body)
    chunks = payloads[:-1]
    assert payloads[-1] == "[DONE]" and all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("role" not in chunk["choices"][0]["delta"] for chunk in chunks[1:])
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert not any("usage" in chunk for chunk in chunks)  # not asked for


async def test_replies_without_streaming(http):
    body = {"model": MODEL, "prompt": PREFIX, "suffix": SUFFIX, "max_tokens": 5}
    response = await http.post("/completions", json=body)
    reply = response.json()
    assert response.status_code == 200 and reply["object"] == "text_completion"
    assert reply["choices"][0]["text"] and reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"]["completion_tokens"] == 5
    chat = await http.post("/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
    message = chat.json()["choices"][0]["message"]
    assert chat.status_code == 200 and message["role"] == "assistant" and message["content"]


async def test_models_lists_the_window(http):
    models = (await http.get("/models")).json()
    assert [(entry["id"], entry["max_model_len"]) for entry in models["data"]] == [(MODEL, CONTEXT)]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/completions", {"model": MODEL}, "prompt"),
        ("/completions", {"prompt": ""}, "prompt"),
        ("/completions", {"prompt": [1, 2, 3]}, "prompt"),
        ("/completions", {"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ("/completions", {"prompt": "x", "temperature": 3}, "temperature"),
        ("/completions", {"prompt": "x", "top_p": 0}, "top_p"),
        ("/completions", {"prompt": "x", "stop": [""]}, "stop"),
        ("/completions", {"prompt": "x", "n": 2}, "n"),
        ("/completions", {"prompt": "x", "echo": True}, "echo"),
        ("/completions", {"prompt": "x", "stream": "yes"}, "stream"),
        ("/chat/completions", {"messages": []}, "messages"),
        ("/chat/completions", {"messages": [{"role": "wizard", "content": "x"}]}, "messages[0]"),
        ("/chat/completions", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0]"),
    ],
)
async def test_bad_requests_are_400_naming_the_field(http, path, body, param):
    response = await http.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


async def test_malformed_json_unknown_routes_and_methods_are_json_errors(http):
    response = await http.post("/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
    response = await http.get("/engines")
    assert response.status_code == 404 and "/v1/completions" in response.json()["error"]["message"]
    response = await http.get("/completions")
    assert response.status_code == 405 and "error" in response.json()


async def test_a_taken_port_is_a_clear_error():
    with bind("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(EngineServeError, match=f"cannot listen on 127.0.0.1:{port}"):
            bind("127.0.0.1", port)


async def test_a_failing_engine_answers_500_in_openai_form():
    backend = tiny_backend()
    await backend.aclose()  # every request now fails inside the engine
    with start_in_thread(backend, model_name=MODEL) as closed:
        async with httpx.AsyncClient(base_url=closed.url, timeout=GENEROUS) as client:
            response = await client.post("/completions", json={"prompt": PREFIX, "stream": True})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and "closed" in error["message"]
