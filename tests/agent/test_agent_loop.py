"""The bounded tool loop against a real OpenAI-compatible HTTP server replaying scripted replies."""

from __future__ import annotations

import json

import pytest

from agent.refactor import run_loop
from engine import ChatMessage
from tests.agent.refactor_fixtures import open_fixture
from tests.agent.test_navigate import scripted_model
from tests.engine.openai_stub_server import Reply, chat_chunk

CHAT = "/v1/chat/completions"


def tool_call(name: str, arguments: dict | str, call_id: str = "c1") -> Reply:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    piece = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": text}}
    return Reply.sse(chat_chunk(tool_calls=[piece]), chat_chunk(finish="tool_calls"))


def answer(text: str) -> Reply:
    return Reply.sse(chat_chunk(text), chat_chunk(finish="stop"))


def start() -> list[ChatMessage]:
    return [ChatMessage("system", "explore"), ChatMessage("user", "what calls helper?")]


@pytest.fixture
def py(tmp_path):
    with open_fixture(tmp_path, "py") as ws:
        yield ws


def tool_results(server) -> list[str]:
    """The tool messages the client sent back, in order, from the last request."""
    return [m["content"] for m in server.bodies(CHAT)[-1]["messages"] if m["role"] == "tool"]


@pytest.mark.asyncio
async def test_the_model_reads_searches_finds_references_and_answers(py):
    async with scripted_model() as (server, backend):
        server.script(
            CHAT,
            tool_call("search_symbols", {"query": "helper"}),
            tool_call("read_span", {"path": "pkg/core.py", "start_line": 4, "end_line": 5}),
            tool_call("find_references", {"path": "pkg/core.py", "line": 4, "name": "helper"}),
            tool_call("list_dependencies", {"path": "pkg/util.py"}),
            answer("FILE: pkg/core.py"),
        )
        result = await run_loop(py, backend, start(), max_steps=8, max_tokens=20000)
        assert (result.stopped, result.steps, result.answer) == ("answer", 5, "FILE: pkg/core.py")
        assert [name for name, _ in result.calls] == [
            "search_symbols",
            "read_span",
            "find_references",
            "list_dependencies",
        ]
        search, span, references, dependencies = tool_results(server)
        assert search.splitlines()[0].startswith("pkg/core.py:4 function def helper(value)")
        assert "unrelated.py:1 function def helper()" in search
        assert span == "4: def helper(value):\n5:     return value * 2"
        assert "app.py:11: return helper(4) + pkg.helper(5) + E().step()" in references
        assert "unrelated.py" not in references
        assert "imports pkg.core (line 1) -> pkg/core.py" in dependencies
        assert result.files_read == ["pkg/core.py"]
        assert [tool["function"]["name"] for tool in server.bodies(CHAT)[0]["tools"]] == [
            "search_symbols",
            "read_span",
            "find_references",
            "list_dependencies",
        ]


@pytest.mark.asyncio
async def test_every_tool_stays_inside_the_workspace(py, tmp_path):
    (tmp_path / "secret.py").write_text("TOKEN = 'outside-the-workspace'\n")
    (py.root / "link.py").symlink_to(tmp_path / "secret.py")
    (py.root / ".env").write_text("API_KEY=inside-but-not-source\n")
    attempts = [
        {"path": "../secret.py", "start_line": 1, "end_line": 1},
        {"path": str(tmp_path / "secret.py"), "start_line": 1, "end_line": 1},
        {"path": "/etc/passwd", "start_line": 1, "end_line": 1},
        {"path": "link.py", "start_line": 1, "end_line": 1},
        {"path": ".env", "start_line": 1, "end_line": 1},
    ]
    async with scripted_model() as (server, backend):
        server.script(
            CHAT,
            *[tool_call("read_span", a, f"c{i}") for i, a in enumerate(attempts)],
            tool_call("list_dependencies", {"path": "../../etc"}),
            tool_call("run_shell", {"command": "touch pwned"}),
            tool_call("read_span", "{not json"),
            answer("done"),
        )
        result = await run_loop(py, backend, start(), max_steps=20, max_tokens=50000)
        assert result.stopped == "answer"
        outputs = tool_results(server)
        assert len(outputs) == 8
        assert all(output.startswith("error: ") for output in outputs), outputs
        assert "unknown tool 'run_shell'" in outputs[6]
        sent = json.dumps(server.bodies(CHAT))
        assert "outside-the-workspace" not in sent and "inside-but-not-source" not in sent and "root:" not in sent
        assert not (py.root / "pwned").exists()


@pytest.mark.asyncio
async def test_the_step_cap_ends_a_model_that_never_stops_calling_tools(py):
    async with scripted_model() as (server, backend):
        server.script(CHAT, *[tool_call("search_symbols", {"query": "x"}, f"c{i}") for i in range(10)])
        result = await run_loop(py, backend, start(), max_steps=3, max_tokens=50000)
        assert (result.stopped, result.steps, result.answer) == ("steps", 3, "")
        assert len(server.bodies(CHAT)) == 3


@pytest.mark.asyncio
async def test_the_token_cap_stops_before_a_request_that_would_pass_it(py):
    async with scripted_model() as (server, backend):
        server.script(
            CHAT,
            tool_call("read_span", {"path": "pkg/core.py", "start_line": 1, "end_line": 200}),
            tool_call("read_span", {"path": "app.py", "start_line": 1, "end_line": 200}),
            answer("never reached"),
        )
        first_prompt = sum(backend.count_tokens(m.content) + 8 for m in start())
        result = await run_loop(py, backend, start(), max_steps=10, max_tokens=first_prompt + 1024 + 40)
        assert result.stopped == "tokens"
        assert result.steps == len(server.bodies(CHAT)) < 3
