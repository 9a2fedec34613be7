"""The `openai` backend against a real HTTP server (tests/engine/openai_stub_server.py), no mocked httpx."""

from __future__ import annotations

import asyncio
import socket

import pytest
import pytest_asyncio

from engine import BackendError, ChatMessage, ChatRequest, ContextTooLong, FimRequest, ToolCall, ToolSpec, Usage
from engine.backends import openai as openai_backend
from engine.backends.openai import ESTIMATE_NOTE, OpenAIBackend, OpenAISettings, retry_delay
from engine.backends.sse import sse_events, sse_json

from .openai_stub_server import (
    DEFAULT_MODEL,
    Drop,
    Pause,
    Reply,
    StubServer,
    chat_chunk,
    completion_chunk,
    usage_chunk,
)

COMPLETIONS, CHAT = "/v1/completions", "/v1/chat/completions"
GENEROUS = 5.0  # seconds; only ever a ceiling for things that should take milliseconds


@pytest_asyncio.fixture
async def server():
    async with StubServer() as stub:
        yield stub


@pytest_asyncio.fixture
async def make_backend(server):
    """Backends on the stub server with quick retries; all closed at teardown."""
    made: list[OpenAIBackend] = []

    def factory(**overrides) -> OpenAIBackend:
        options = {"base_url": server.url, "model": DEFAULT_MODEL, "read_timeout": GENEROUS, "backoff_base": 0.01}
        backend = OpenAIBackend(OpenAISettings(**{**options, **overrides}))
        made.append(backend)
        return backend

    yield factory
    for backend in made:
        await backend.aclose()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The retry waits the backend asked for, not waited."""
    asked: list[float] = []

    async def record(seconds: float) -> None:
        asked.append(seconds)

    monkeypatch.setattr(openai_backend, "_sleep", record)
    return asked


async def collect(stream) -> list:
    return [delta async for delta in stream]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- FIM -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fim_template_mode_renders_the_models_fim_prompt_and_streams(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("return "), completion_chunk("a + b", "stop")))
    backend = make_backend()
    request = FimRequest(prefix="def add(a, b):\n    ", suffix="\n", stop=("\n\n",), max_tokens=16)

    deltas = await collect(backend.fim(request))

    assert "".join(d.text for d in deltas) == "return a + b"
    assert deltas[-1].finish_reason == "stop"
    body = server.bodies(COMPLETIONS)[0]
    assert backend.fim_mode == "template"
    assert body["prompt"] == "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>"
    assert "suffix" not in body
    assert body["stop"][0] == "\n\n" and "<|endoftext|>" in body["stop"] and "<|file_sep|>" in body["stop"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["max_tokens"], body["temperature"]) == (DEFAULT_MODEL, 16, 0.0)


@pytest.mark.asyncio
async def test_fim_suffix_mode_sends_the_suffix_field(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("x", "length")))
    backend = make_backend(fim_mode="suffix")

    text = await backend.complete_fim(FimRequest(prefix="a = ", suffix="\nprint(a)", stop=("\n",)))

    body = server.bodies(COMPLETIONS)[0]
    assert text == "x"
    assert (body["prompt"], body["suffix"]) == ("a = ", "\nprint(a)")
    assert body["stop"][0] == "\n"


@pytest.mark.asyncio
async def test_auto_mode_uses_suffix_for_a_model_without_fim_template(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("1", "stop")))
    backend = make_backend(model="some-chat-model")

    await backend.complete_fim(FimRequest(prefix="x = ", suffix=";"))

    assert backend.fim_mode == "suffix"
    assert server.bodies(COMPLETIONS)[0]["suffix"] == ";"


def test_template_mode_without_a_fim_template_is_a_clear_config_error():
    with pytest.raises(BackendError, match="fim_mode 'template'") as caught:
        OpenAIBackend(OpenAISettings("http://127.0.0.1:1", "some-chat-model", fim_mode="template"))
    assert caught.value.kind == "config"


@pytest.mark.asyncio
async def test_usage_from_the_last_chunk_includes_cached_tokens(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("ok", "stop"), usage_chunk(1200, 2, cached=1024)))

    deltas = await collect(make_backend().fim(FimRequest(prefix="p")))

    assert deltas[-1].usage == Usage(prompt_tokens=1200, completion_tokens=2, cached_tokens=1024)


@pytest.mark.asyncio
async def test_deepseek_api_cache_hit_tokens_count_as_cached(server, make_backend):
    usage = {"prompt_tokens": 90, "completion_tokens": 1, "prompt_cache_hit_tokens": 64}
    server.script(COMPLETIONS, Reply.sse(completion_chunk("ok", "stop"), {"choices": [], "usage": usage}))

    deltas = await collect(make_backend().fim(FimRequest(prefix="p")))

    assert deltas[-1].usage == Usage(90, 1, 64)


# -- chat with tools -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_chat_streams_text_and_assembles_a_streamed_tool_call(server, make_backend):
    def piece(**fields):
        return [{"index": 0, **fields}]

    server.script(
        CHAT,
        Reply.sse(
            chat_chunk(content="Let me "),
            chat_chunk(content="look."),
            chat_chunk(tool_calls=piece(id="call_7", type="function", function={"name": "read_file", "arguments": ""})),
            chat_chunk(tool_calls=piece(function={"arguments": '{"pa'})),
            chat_chunk(tool_calls=piece(function={"arguments": 'th": "a.py"}'})),
            chat_chunk(finish="tool_calls"),
            usage_chunk(50, 12),
        ),
    )
    tool = ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}})
    history = (
        ChatMessage("user", "what is in a.py?"),
        ChatMessage("assistant", tool_calls=(ToolCall("call_1", "list_files", "{}"),)),
        ChatMessage("tool", "a.py", tool_call_id="call_1"),
    )

    deltas = await collect(make_backend().chat(ChatRequest(history, tools=(tool,))))

    assert "".join(d.text for d in deltas) == "Let me look."
    calls = [call for d in deltas for call in d.tool_calls]
    assert calls == [ToolCall("call_7", "read_file", '{"path": "a.py"}')]
    assert deltas[-1].finish_reason == "tool_calls" and deltas[-1].usage == Usage(50, 12, 0)
    body = server.bodies(CHAT)[0]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "read_file", "description": "Read a file.", "parameters": tool.parameters},
        }
    ]
    assert body["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "list_files", "arguments": "{}"}}],
    }
    assert body["messages"][2] == {"role": "tool", "content": "a.py", "tool_call_id": "call_1"}


@pytest.mark.asyncio
async def test_tool_call_without_a_name_is_malformed(server, make_backend):
    broken = [{"index": 0, "id": "c", "function": {"arguments": "{}"}}]
    server.script(CHAT, Reply.sse(chat_chunk(tool_calls=broken, finish="tool_calls")))

    with pytest.raises(BackendError, match="no function name") as caught:
        await make_backend().complete_chat(ChatRequest((ChatMessage("user", "hi"),)))
    assert caught.value.kind == "malformed"


@pytest.mark.asyncio
async def test_a_non_streamed_json_reply_is_still_understood(server, make_backend):
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}]}
    server.script(CHAT, Reply(body=reply))

    assert await make_backend().complete_chat(ChatRequest((ChatMessage("user", "hi"),))) == ("hello", ())


# -- retries -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_503_is_retried_with_backoff_then_succeeds(server, make_backend, sleeps):
    busy = Reply.error(503, {"error": {"message": "busy"}})
    server.script(COMPLETIONS, busy, busy, Reply.sse(completion_chunk("ok", "stop")))

    text = await make_backend(max_retries=2, backoff_base=0.25).complete_fim(FimRequest(prefix="p"))

    assert text == "ok"
    assert len(server.bodies(COMPLETIONS)) == 3
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # base * 2**attempt, plus up to as much jitter


@pytest.mark.asyncio
async def test_retry_after_is_honoured(server, make_backend, sleeps):
    server.script(
        COMPLETIONS,
        Reply.error(429, {"error": {"message": "slow down"}}, Retry_After="7"),
        Reply.sse(completion_chunk("ok", "stop")),
    )

    assert await make_backend().complete_fim(FimRequest(prefix="p")) == "ok"
    assert sleeps == [7.0]


@pytest.mark.asyncio
async def test_a_retry_after_beyond_max_retry_wait_fails_at_once(server, make_backend, sleeps):
    server.script(COMPLETIONS, Reply.error(429, {"error": {"message": "quota"}}, Retry_After="3600"))

    with pytest.raises(BackendError, match="wait 3600 s") as caught:
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "rate_limited" and sleeps == []


@pytest.mark.asyncio
async def test_retries_give_up_after_max_retries(server, make_backend, sleeps):
    server.script(COMPLETIONS, *[Reply.error(502, "bad gateway")] * 3)

    with pytest.raises(BackendError, match="bad gateway") as caught:
        await make_backend(max_retries=1).complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "server"
    assert len(server.bodies(COMPLETIONS)) == 2


@pytest.mark.asyncio
async def test_no_retry_once_the_stream_has_started(server, make_backend, sleeps):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("par"), Drop()), Reply.sse(completion_chunk("again", "stop")))

    received: list[str] = []
    with pytest.raises(BackendError, match="mid-stream") as caught:
        async for delta in make_backend().fim(FimRequest(prefix="p")):
            received.append(delta.text)
    assert caught.value.kind == "disconnected"
    assert received == ["par"]
    assert len(server.bodies(COMPLETIONS)) == 1 and sleeps == []


@pytest.mark.asyncio
async def test_an_error_inside_the_stream_is_raised_not_retried(server, make_backend, sleeps):
    error = {"error": {"object": "error", "message": "engine died", "type": "InternalServerError", "code": 500}}
    server.script(COMPLETIONS, Reply.sse(completion_chunk("a"), error))

    with pytest.raises(BackendError, match="engine died"):
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert len(server.bodies(COMPLETIONS)) == 1 and sleeps == []


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_unreachable_server_says_connection_refused(make_backend, sleeps):
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = make_backend(base_url=url, max_retries=1)

    with pytest.raises(BackendError) as caught:
        await backend.complete_fim(FimRequest(prefix="p"))

    assert str(caught.value) == f"cannot reach {url}: connection refused"
    assert caught.value.kind == "unreachable" and len(sleeps) == 1  # connect errors are retried
    assert "cannot reach" in await backend.check()


@pytest.mark.asyncio
async def test_401_names_the_environment_variable_and_never_the_key(server, make_backend, monkeypatch):
    monkeypatch.setenv("WHOLEREPO_TEST_KEY", "sk-secret-123")
    server.script(COMPLETIONS, Reply.error(401, {"error": {"message": "Incorrect API key provided: sk-secr***"}}))

    with pytest.raises(BackendError) as caught:
        await make_backend(api_key_env="WHOLEREPO_TEST_KEY").complete_fim(FimRequest(prefix="p"))

    assert caught.value.kind == "unauthorised"
    assert "unauthorised" in str(caught.value) and "set $WHOLEREPO_TEST_KEY" in str(caught.value)
    assert "sk-secret-123" not in str(caught.value)
    assert server.requests[0].headers["authorization"] == "Bearer sk-secret-123"


@pytest.mark.asyncio
async def test_no_authorization_header_without_a_key(server, make_backend):
    server.script(COMPLETIONS, Reply.error(403, {"error": "forbidden"}))

    with pytest.raises(BackendError, match="api_key_env"):
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize(
    "status, body, quoted",
    [
        (404, {"object": "error", "message": "The model `nope` does not exist.", "code": 404}, "does not exist"),
        (404, {"error": {"message": 'model "nope" not found, try pulling it first'}}, "try pulling it"),
        (400, {"error": {"message": "Model Not Exist", "type": "invalid_request_error"}}, "Model Not Exist"),
    ],
)
@pytest.mark.asyncio
async def test_unknown_model_quotes_the_servers_message(server, make_backend, status, body, quoted):
    server.script(COMPLETIONS, Reply.error(status, body))

    with pytest.raises(BackendError, match=quoted) as caught:
        await make_backend(model="nope", fim_mode="suffix").complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "unknown_model" and "'nope'" in str(caught.value)


@pytest.mark.asyncio
async def test_a_404_without_a_model_points_at_base_url(server, make_backend):
    server.script(COMPLETIONS, Reply.error(404, "Not Found"))

    with pytest.raises(BackendError, match="check base_url") as caught:
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "not_found"


@pytest.mark.parametrize(
    "status, body",
    [
        (
            400,
            {
                "object": "error",
                "message": "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens.",
                "type": "BadRequestError",
                "code": 400,
            },
        ),
        (400, {"error": {"message": "Too long.", "type": "invalid_request_error", "code": "context_length_exceeded"}}),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size",
                    "type": "exceed_context_size_error",
                }
            },
        ),
        (413, "too many tokens in the prompt"),
    ],
)
@pytest.mark.asyncio
async def test_context_too_long(server, make_backend, status, body):
    server.script(COMPLETIONS, Reply.error(status, body))

    with pytest.raises(ContextTooLong) as caught:
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "context_too_long"


@pytest.mark.parametrize(
    "events, message",
    [
        (("this is not json",), "not JSON"),
        (({"id": "x", "object": "text_completion"},), "no `choices`"),
        (('["a list"]',), "not an object"),
        (({"choices": [{"index": 0, "text": 42}]},), "not text"),
    ],
)
@pytest.mark.asyncio
async def test_malformed_streams(server, make_backend, events, message):
    server.script(COMPLETIONS, Reply.sse(*events))

    with pytest.raises(BackendError, match=message) as caught:
        await make_backend().complete_fim(FimRequest(prefix="p"))
    assert caught.value.kind == "malformed"


@pytest.mark.asyncio
async def test_a_stalled_stream_times_out_naming_the_timeout(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("a"), Pause(GENEROUS), completion_chunk("b", "stop")))

    with pytest.raises(BackendError, match=r"0\.5 s .*read_timeout") as caught:
        await asyncio.wait_for(make_backend(read_timeout=0.5).complete_fim(FimRequest(prefix="p")), GENEROUS)
    assert caught.value.kind == "timeout"


# -- cancelling ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_cancelling_the_consumer_closes_the_connection(server, make_backend):
    server.script(COMPLETIONS, Reply.sse(completion_chunk("first"), Pause(30), completion_chunk("never", "stop")))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in make_backend().fim(FimRequest(prefix="p")):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), GENEROUS)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.wait_for(server.disconnected.wait(), GENEROUS)
    assert server.disconnects == [COMPLETIONS]


@pytest.mark.asyncio
async def test_aclose_on_the_generator_closes_the_connection(server, make_backend):
    server.script(CHAT, Reply.sse(chat_chunk(content="first"), Pause(30), chat_chunk(content="never", finish="stop")))
    stream = make_backend().chat(ChatRequest((ChatMessage("user", "hi"),)))

    assert (await anext(stream)).text == "first"
    await stream.aclose()

    await asyncio.wait_for(server.disconnected.wait(), GENEROUS)
    assert server.disconnects == [CHAT]


@pytest.mark.asyncio
async def test_a_finished_stream_leaves_the_connection_for_reuse(server, make_backend):
    server.script(COMPLETIONS, *[Reply.sse(completion_chunk("ok", "stop"))] * 2)
    backend = make_backend()

    await backend.complete_fim(FimRequest(prefix="p"))
    await backend.complete_fim(FimRequest(prefix="p"))

    assert server.disconnects == []
    assert len(server.bodies(COMPLETIONS)) == 2 and server.connections == 1


# -- model info, models, status --------------------------------------------------------------------


def test_unknown_tokenizer_means_estimates_and_says_so():
    info = OpenAIBackend(OpenAISettings("http://127.0.0.1:1", "my-llama")).info

    assert info.tokenizer.exact is False and not info.exact_tokens
    assert info.notes == (ESTIMATE_NOTE,) and "estimate" in info.notes[0]
    assert info.context_window == 32768 and info.template.name == "chat"


def test_deepseek_models_get_the_exact_deepseek_tokenizer():
    info = OpenAIBackend(OpenAISettings("https://api.deepseek.com/beta", "deepseek-chat")).info

    assert info.exact_tokens and info.notes == () and info.tokenizer.name == "deepseek"
    assert info.template.name == "deepseek-coder"
    assert OpenAIBackend(OpenAISettings("https://api.deepseek.com/beta", "deepseek-chat")).fim_mode == "suffix"


def test_base_url_without_a_path_gets_v1():
    assert OpenAISettings("http://host:8000", "m").api_url == "http://host:8000/v1"
    assert OpenAISettings("http://host:8000/v1/", "m").api_url == "http://host:8000/v1"
    assert OpenAISettings("https://api.deepseek.com/beta", "m").api_url == "https://api.deepseek.com/beta"


@pytest.mark.asyncio
async def test_context_window_comes_from_max_model_len(server, make_backend):
    server.models = [{"id": "other"}, {"id": DEFAULT_MODEL, "object": "model", "max_model_len": 131072}]
    backend = make_backend()

    status = await backend.check()

    assert backend.info.context_window == 131072
    assert "ready" in status and "131,072" in status and "estimate" in status
    assert [model.id for model in await backend.list_models()] == ["other", DEFAULT_MODEL]


@pytest.mark.asyncio
async def test_a_configured_window_is_kept_but_never_above_the_servers(server, make_backend):
    server.models = [{"id": DEFAULT_MODEL, "max_model_len": 65536}]
    small, large = make_backend(context_window=16384), make_backend(context_window=1_000_000)

    await small.discover()
    await large.discover()

    assert (small.info.context_window, large.info.context_window) == (16384, 65536)


@pytest.mark.asyncio
async def test_check_reports_a_model_the_server_does_not_serve(server, make_backend):
    server.models = [{"id": "llama3:latest"}]

    status = await make_backend(model="qwen3-coder").check()

    assert "not served" in status and "llama3:latest" in status
    assert "ready" in await make_backend(model="llama3").check()  # Ollama's implicit tag


# -- pure parts ------------------------------------------------------------------------------------


def test_retry_delay_backoff_and_retry_after():
    assert 1.0 <= retry_delay(2, 0.25) <= 2.0
    assert retry_delay(0, 0.25, "3") == 3.0
    assert retry_delay(0, 0.25, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
    assert 0.25 <= retry_delay(0, 0.25, "soon") <= 0.5  # unreadable: plain backoff


async def lines_of(text: str):
    for line in text.split("\n"):
        yield line


@pytest.mark.asyncio
async def test_sse_framing():
    text = ': keep-alive\n\nevent: error\ndata: {"a":\ndata: 1}\n\ndata:{"b": 2}\n\ndata: [DONE]\n\ndata: {}\n'
    events = [event async for event in sse_events(lines_of(text))]
    assert [(e.event, e.data) for e in events] == [
        ("error", '{"a":\n1}'),
        ("message", '{"b": 2}'),
        ("message", "[DONE]"),
        ("message", "{}"),
    ]
    assert [payload async for payload in sse_json(lines_of(text))] == [{"error": {"a": 1}}, {"b": 2}]
