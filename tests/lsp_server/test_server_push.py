"""A client without pull diagnostics (VS Code 1.65's capabilities, UTF-16 positions) gets them pushed,
once per change; and the embedded engine serves completions end to end (a random-init tiny model:
plumbing only, the text itself is noise)."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types as t

from agent.quiet_gc import QUIET_S
from lsp_server.lifecycle import QUIET_POLL_S

from ..engine.test_decoder import build_tokenizer
from .server_session import REPORT, capabilities, start, stop, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory):
    base = tmp_path_factory.mktemp("push")
    root = write_repo(base / "repo")
    tokenizer = base / "tokenizer.json"
    build_tokenizer().backend.save(str(tokenizer))
    options = {
        "backend": {"kind": "local", "random_init": "tiny", "tokenizer": str(tokenizer), "device": "cpu"},
        "index_dir": str(base / "ix"),
        "completion": {"max_tokens": 8, "max_tokens_multiline": 8},
    }
    session = await start(root, options, capabilities("visual-studio-code", pull_diagnostics=False))
    await session.wait_status("index", "ready")
    yield session
    await stop(session)


async def test_utf16_is_negotiated_with_this_client(session):
    assert session.encoding == t.PositionEncodingKind.Utf16
    assert session.initialized.capabilities.diagnostic_provider is not None  # offered; this client does not pull


async def test_diagnostics_are_pushed_when_the_client_cannot_pull(session):
    session.open("report.py", REPORT)
    await asyncio.wait_for(session.client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30)
    items = session.client.diagnostics[session.uri("report.py")]
    assert [d.code for d in items] == ["unknown-import-name"]
    assert items[0].range == t.Range(t.Position(1, 16), t.Position(1, 24))


async def test_pushed_diagnostics_follow_the_buffer(session):
    session.change("report.py", REPORT.replace("Squircle", "tau"))
    await asyncio.wait_for(session.client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30)
    assert list(session.client.diagnostics[session.uri("report.py")]) == []
    session.close("report.py")


async def test_the_embedded_engine_answers_inline_completion(session):
    status = await session.wait_status("engine", "ready")
    assert status["engine"]["backend"] == "local"
    assert any("random weights" in note for note in status["engine"]["notes"])  # never shown as a real model
    session.open("main.py")
    result = await session.client.text_document_inline_completion_async(
        t.InlineCompletionParams(
            context=t.InlineCompletionContext(trigger_kind=t.InlineCompletionTriggerKind.Invoked),
            text_document=session.doc("main.py"),
            position=t.Position(4, 11),
        )
    )
    assert isinstance(result, t.InlineCompletionList)
    assert not [m for m in session.client.messages if m.type == t.MessageType.Error]
    for item in result.items:  # whatever noise came out went through the filters: one line, no blank
        assert item.insert_text.strip() and "\n" not in item.insert_text


async def test_the_heap_is_settled_once_the_editor_goes_quiet(session):
    async def gc_report() -> dict:
        report = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.runtime"))
        return report["gc"]

    before = (await gc_report())["settles"]
    for _ in range(10):  # each question is itself activity: wait out the quiet spell before asking again
        await asyncio.sleep(QUIET_S + 2 * QUIET_POLL_S)
        after = await gc_report()
        if after["settles"] > before:
            break
    assert after["settles"] > before, after
    assert after["frozen"] > 0 and after["last_settle_ms"] is not None
