"""Code lenses placed at once and counted through codeLens/resolve, from a cache that an edit
invalidates; and a model explanation that leaves the server free to answer other requests."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types as t

from ..engine.openai_stub_server import Pause, Reply, chat_chunk
from . import test_server_completion
from .server_session import MAIN, capabilities, start, stop, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")
stub = test_server_completion.stub  # the scripted model server on 127.0.0.1, as a fixture
CIRCLE = t.Position(3, 6)  # `class Circle` in shapes.py


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory, stub):
    base = tmp_path_factory.mktemp("lenses")
    options = {
        "backend": {"kind": "openai", "url": stub.url, "model": "qwen2.5-coder-7b", "tokenizer": "estimate"},
        "index_dir": str(base / "index"),
    }
    session = await start(write_repo(base / "repo"), options, capabilities("neovim@v0.11.0"))
    await session.wait_status("index", "ready")
    await session.wait_status("engine", "ready")
    session.open("main.py", MAIN)
    yield session
    await stop(session)


async def lens_title(session, rel: str, start: t.Position) -> str:
    lenses = await session.client.text_document_code_lens_async(t.CodeLensParams(session.doc(rel)))
    [lens] = [lens for lens in lenses if lens.range.start == start]
    assert lens.command is None and lens.data["ord"] >= 0
    return (await session.client.code_lens_resolve_async(lens)).command.title


async def test_the_file_lens_and_definition_lenses_resolve_to_their_counts(session):
    lenses = await session.client.text_document_code_lens_async(t.CodeLensParams(session.doc("shapes.py")))
    assert [(lens.range.start.line, lens.data["ord"]) for lens in lenses][:2] == [(0, -1), (3, 0)]
    top = await session.client.code_lens_resolve_async(lenses[0])
    assert top.command.title == "imported by 2 files"
    assert await lens_title(session, "shapes.py", CIRCLE) == "4 references in 2 files"


async def test_an_edit_in_another_file_changes_the_count(session):
    assert await lens_title(session, "shapes.py", CIRCLE) == "4 references in 2 files"
    edited = MAIN + "\n\ndef another():\n    return Circle(2.0)\n"
    session.change("main.py", edited)
    assert await lens_title(session, "shapes.py", CIRCLE) == "5 references in 2 files"
    session.change("main.py", MAIN)
    assert await lens_title(session, "shapes.py", CIRCLE) == "4 references in 2 files"


async def test_a_hover_is_answered_while_an_explanation_waits_for_the_model(session, stub):
    reply = "`make_circle` (shapes.py:15) builds a Circle."
    stub.script("/v1/chat/completions", Reply.sse(Pause(4.0), chat_chunk(reply), chat_chunk(finish="stop")))
    asked = len(stub.bodies("/v1/chat/completions"))
    explain = asyncio.ensure_future(
        session.client.workspace_execute_command_async(
            t.ExecuteCommandParams("wholerepo.explain", [session.uri("main.py"), {"line": 8, "character": 12}])
        )
    )
    while len(stub.bodies("/v1/chat/completions")) == asked:  # the narrative was packed and sent
        await asyncio.sleep(0.02)
    hover = await session.client.text_document_hover_async(t.HoverParams(session.doc("main.py"), t.Position(0, 20)))
    assert "class Circle" in hover.contents.value
    assert not explain.done()  # the hover came back while the model was still thinking
    result = await explain
    assert "shapes.py:15" in result["markdown"]
