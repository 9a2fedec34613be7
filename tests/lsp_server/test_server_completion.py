"""Inline completion and the completion list through a real client against `wholerepo serve`, with the
model behind it a real OpenAI-compatible HTTP server scripted with exact suggestions."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from ..engine.openai_stub_server import Pause, Reply, StubServer, completion_chunk
from .server_session import REPORT, serving, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")
COMPLETIONS = "/v1/completions"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stub():
    async with StubServer() as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory, stub):
    options = {
        "backend": {"kind": "openai", "url": stub.url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
        "budgets": {"context_tokens": 2000, "max_tokens": 48},
        "debounce": {"max_ms": 0},
    }
    base = tmp_path_factory.mktemp("completion")
    async with serving(write_repo(base / "repo"), base / "index", options) as session:
        yield session


def script(stub: StubServer, *pieces) -> None:
    events = [completion_chunk(p) if isinstance(p, str) else p for p in pieces]
    stub.script(COMPLETIONS, Reply.sse(*events, completion_chunk("", "stop")))


def inline_params(session, rel: str, line: int, character: int, invoked: bool = True) -> t.InlineCompletionParams:
    kind = t.InlineCompletionTriggerKind.Invoked if invoked else t.InlineCompletionTriggerKind.Automatic
    return t.InlineCompletionParams(
        context=t.InlineCompletionContext(trigger_kind=kind),
        text_document=session.doc(rel),
        position=t.Position(line, character),
    )


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


async def test_server_advertises_inline_completion_and_the_fallback_list(session):
    capabilities = session.initialized.capabilities
    assert capabilities.inline_completion_provider is not None
    assert list(capabilities.completion_provider.trigger_characters) == ["."]
    assert capabilities.text_document_sync.change == t.TextDocumentSyncKind.Incremental
    assert {"wholerepo.explain", "wholerepo.refactor", "wholerepo.showContext"} <= set(
        capabilities.execute_command_provider.commands
    )
    status = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
    assert status["engine"]["state"] == "ready" and status["index"] == {
        "state": "ready",
        "files": 5,
        **{"seconds": status["index"]["seconds"]},
    }


async def test_inline_completion_is_the_post_processed_suggestion_with_the_typed_word_in_range(session, stub):
    text = "from shapes import make_circle\n\n\ndef one():\n    c = make_circle(1)\n    return c.ar\n"
    session.open("scratch.py", text)
    script(stub, "ea()\n", "    print('never shown')\n")
    before = len(stub.bodies(COMPLETIONS))
    result = await session.client.text_document_inline_completion_async(inline_params(session, "scratch.py", 5, 15))
    [item] = result.items
    assert item.insert_text == "area()"
    assert item.range == t.Range(t.Position(5, 13), t.Position(5, 15))  # from where `ar` starts
    prompt = stub.bodies(COMPLETIONS)[before]["prompt"]
    assert "def area(self) -> float" in prompt  # packed from shapes.py, through the receiver's type


async def test_positions_convert_between_the_wire_encoding_and_code_points(session, stub):
    encoding = session.encoding
    session.open("report.py", REPORT)
    line = REPORT.split("\n")[6]  # label = "é😀"; circle = make_circle(2.0)
    column = line.index("make_circle") + len("make_")  # inside the name, after a 2-unit emoji in UTF-16
    script(stub, "circle(3.0)")
    wire = units(line[:column], encoding)
    result = await session.client.text_document_inline_completion_async(inline_params(session, "report.py", 6, wire))
    [item] = result.items
    start = line.index("make_circle")
    assert item.insert_text == "make_circle(3.0)"
    assert item.range.start.character == units(line[:start], encoding)
    assert item.range.end.character == wire
    assert encoding != "utf-32" and units(line[:column], "utf-32") != wire


async def test_a_new_request_for_the_document_cancels_the_running_one(session, stub):
    session.open("slow.py", "x = \n")
    stub.disconnected.clear()
    script(stub, "first", Pause(30.0), " never")
    script(stub, "second")
    first = asyncio.ensure_future(
        session.client.text_document_inline_completion_async(inline_params(session, "slow.py", 0, 4))
    )
    while len([r for r in stub.requests if r.path == COMPLETIONS and r.body["prompt"].count("x = ")]) == 0:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    second = await session.client.text_document_inline_completion_async(inline_params(session, "slow.py", 0, 4))
    assert [item.insert_text for item in second.items] == ["second"]
    with pytest.raises(JsonRpcException) as cancelled:
        await first
    assert cancelled.value.code == -32800
    await asyncio.wait_for(stub.disconnected.wait(), 10)  # the model's stream was closed, not left running


async def test_cancel_request_stops_the_model_stream(session, stub):
    session.open("cancel.py", "y = \n")
    stub.disconnected.clear()
    script(stub, "a", Pause(30.0), "b")
    protocol = session.client.protocol
    asked = len(stub.requests)
    pending = asyncio.ensure_future(
        protocol.send_request_async(
            t.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(session, "cancel.py", 0, 4), msg_id="cancel-me"
        )
    )
    while len(stub.requests) == asked:
        await asyncio.sleep(0.02)
    protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as cancelled:
        await asyncio.wait_for(pending, 5)
    assert cancelled.value.code == -32800
    await asyncio.wait_for(stub.disconnected.wait(), 10)


async def test_completion_list_has_the_model_item_first_then_members_from_the_index(session, stub):
    text = "from shapes import make_circle\n\n\ndef two():\n    c = make_circle(2)\n    c.\n"
    session.open("members.py", text)
    script(stub, "scaled(2)")
    result = await session.client.text_document_completion_async(
        t.CompletionParams(session.doc("members.py"), t.Position(5, 6))
    )
    labels = [item.label for item in result.items]
    assert labels[0] == "scaled(2)" and result.items[0].detail == "wholerepo model"
    assert {"area", "scaled"} <= set(labels[1:])
    area = next(item for item in result.items if item.label == "area")
    assert area.kind == t.CompletionItemKind.Method and "shapes.py" in area.detail


async def test_show_context_returns_the_pack_behind_the_last_completion(session, stub):
    session.open("ctx.py", "from shapes import Circle\n\nc = Circle(1)\nc.\n")
    script(stub, "area()")
    await session.client.text_document_inline_completion_async(inline_params(session, "ctx.py", 3, 2))
    pack = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.showContext"))
    assert pack["suggestion"] == "area()"
    assert pack["window"]["path"] == "ctx.py"
    assert any(item["path"] == "shapes.py" for item in pack["items"])
    assert "shapes.py" in pack["markdown"]


async def test_edits_through_incremental_sync_reach_the_completion(session, stub):
    session.open("typing.py", "def f(values):\n    return \n")
    session.change("typing.py", "sum(", t.Range(t.Position(1, 11), t.Position(1, 11)))
    script(stub, "values)")
    result = await session.client.text_document_inline_completion_async(inline_params(session, "typing.py", 1, 15))
    assert [item.insert_text for item in result.items] == ["values)"]
    prompt = stub.bodies(COMPLETIONS)[-1]["prompt"]
    assert "return sum(" in prompt


async def test_explain_with_a_model_keeps_only_citations_the_index_backs(session, stub):
    from ..engine.openai_stub_server import chat_chunk

    reply = "`make_circle` is defined at shapes.py:15 and called from main.py:9 and from nowhere.py:3."
    stub.script("/v1/chat/completions", Reply.sse(chat_chunk(reply), chat_chunk(finish="stop")))
    result = await session.client.workspace_execute_command_async(
        t.ExecuteCommandParams("wholerepo.explain", [session.uri("main.py"), {"line": 8, "character": 12}])
    )
    assert result["model"] == "qwen2.5-coder-7b"
    assert "shapes.py:15" in result["markdown"] and "nowhere.py:3" not in result["markdown"]
    [request] = stub.bodies("/v1/chat/completions")[-1:]
    assert "def make_circle(radius: float) -> Circle" in request["messages"][-1]["content"]


async def test_review_on_save_is_opt_in_and_its_fix_is_a_quick_fix(session, stub):
    import json

    from ..engine.openai_stub_server import chat_chunk

    session.open("rev.py", "def half(x):\n    return x / 3\n")
    session.client.text_document_did_save(t.DidSaveTextDocumentParams(session.doc("rev.py")))
    await asyncio.sleep(0.3)
    assert not [b for b in stub.bodies("/v1/chat/completions") if "rev.py" in b["messages"][-1]["content"]]

    session.client.workspace_did_change_configuration(
        t.DidChangeConfigurationParams(settings={"wholerepo": {"features": {"review": True}}})
    )
    issue = {"start_line": 2, "end_line": 2, "severity": "warning", "message": "half divides by 3"}
    issue["fix"] = {"replacement": "    return x / 2"}
    stub.script(
        "/v1/chat/completions", Reply.sse(chat_chunk(json.dumps({"issues": [issue]})), chat_chunk(finish="stop"))
    )
    await asyncio.sleep(0.2)
    session.client.text_document_did_save(t.DidSaveTextDocumentParams(session.doc("rev.py")))
    for _ in range(100):
        report = await session.client.text_document_diagnostic_async(t.DocumentDiagnosticParams(session.doc("rev.py")))
        if report.items:
            break
        await asyncio.sleep(0.1)
    [finding] = report.items
    assert (finding.code, finding.message, finding.range.start.line) == ("review", "half divides by 3", 1)
    actions = await session.client.text_document_code_action_async(
        t.CodeActionParams(session.doc("rev.py"), finding.range, t.CodeActionContext(diagnostics=[finding]))
    )
    [fix] = [a for a in actions if getattr(a, "kind", None) == t.CodeActionKind.QuickFix]
    [change] = fix.edit.document_changes
    assert [e.new_text for e in change.edits] == ["    return x / 2"]
    session.client.workspace_did_change_configuration(
        t.DidChangeConfigurationParams(settings={"wholerepo": {"features": {"review": False}}})
    )


async def test_refactor_with_a_model_applies_one_confirmed_edit_through_the_client(session, stub):
    from agent.refactor.blocks import NO_CHANGES

    from ..engine.openai_stub_server import chat_chunk

    def say(text: str) -> Reply:
        return Reply.sse(chat_chunk(text), chat_chunk(finish="stop"))

    block = "<<<<<<< SEARCH\n    return make_circle(1.0)\n=======\n    return make_circle(radius=1.0)\n>>>>>>> REPLACE"
    stub.script("/v1/chat/completions", say("The function unit is all that changes."), say(block))
    stub.script("/v1/chat/completions", *[say(NO_CHANGES) for _ in range(4)])  # any other file the index names
    before = len(session.applied)
    try:
        summary = await session.client.workspace_execute_command_async(
            t.ExecuteCommandParams(
                "wholerepo.refactor",
                ["pass the radius by keyword", session.uri("main.py"), {"line": 8, "character": 4}],
            )
        )
    finally:
        stub._replies["/v1/chat/completions"].clear()
    assert summary["applied"] and summary["files"] == ["main.py"]
    assert summary["label"] == "Refactor: pass the radius by keyword"
    [applied] = session.applied[before:]
    [change] = applied.edit.document_changes
    assert change.text_document.uri == session.uri("main.py")
    assert "make_circle(radius=1.0)" in "".join(e.new_text for e in change.edits)
    [annotation] = applied.edit.change_annotations.values()
    assert annotation.needs_confirmation


async def test_typing_through_a_shown_suggestion_asks_the_model_nothing(session, stub):
    session.open("through.py", "def f(values):\n    return \n")
    script(stub, "sum(v for v in values)")
    first = await session.client.text_document_inline_completion_async(inline_params(session, "through.py", 1, 11))
    assert [item.insert_text for item in first.items] == ["sum(v for v in values)"]
    asked = len(stub.bodies(COMPLETIONS))
    session.change("through.py", "sum(", t.Range(t.Position(1, 11), t.Position(1, 11)))
    second = await session.client.text_document_inline_completion_async(inline_params(session, "through.py", 1, 15))
    [item] = second.items
    assert item.insert_text == "v for v in values)"  # the rest, after the `(` just typed
    assert item.range == t.Range(t.Position(1, 15), t.Position(1, 15))
    assert len(stub.bodies(COMPLETIONS)) == asked
