"""The model-driven refactor against a real local OpenAI-compatible HTTP server with scripted replies."""

from __future__ import annotations

import pytest

from agent import RefactorError, refactor
from agent.refactor.blocks import BlockError, edits_for, parse_blocks
from agent.refactor.validate import proposed_texts
from tests.agent.refactor_fixtures import at, open_fixture, snapshot
from tests.agent.test_agent_loop import CHAT, answer, tool_call
from tests.agent.test_navigate import scripted_model

TYPED = """<<<<<<< SEARCH
def helper(value):
    return value * 2
=======
def helper(value: int) -> int:
    return value * 2
>>>>>>> REPLACE"""


@pytest.fixture
def py(tmp_path):
    with open_fixture(tmp_path, "py") as ws:
        yield ws


def no_changes(count: int) -> list:
    return [answer("NO CHANGES") for _ in range(count)]


@pytest.mark.asyncio
async def test_instruction_at_a_symbol_edits_the_affected_files_and_needs_confirmation(py):
    before = snapshot(py)
    async with scripted_model() as (server, backend):
        server.script(
            CHAT,
            tool_call("find_references", {"path": "pkg/core.py", "line": 4, "name": "helper"}),
            answer("FILE: pkg/core.py\nFILE: ../outside.py\nFILE: unrelated.py"),
            answer(TYPED),  # pkg/core.py
            *no_changes(7),  # the other files referring to helper, and unrelated.py named by the model
        )
        change = await refactor(
            py,
            "add type hints to helper",
            backend,
            path="pkg/core.py",
            position=at(py, "pkg/core.py", 4, "helper"),
            versions={"pkg/core.py": 7},
        )
        bodies = server.bodies(CHAT)
    assert change.needs_confirmation
    assert change.label == "Refactor: add type hints to helper"
    assert [(f.path, f.version) for f in change.files] == [("pkg/core.py", 7)]
    (after,) = [after for _, after in proposed_texts(py, change).values()]
    assert after.startswith(
        '"""The core: a helper and an engine that uses it."""\n\n\ndef helper(value: int) -> int:\n'
    )
    edited = [b["messages"][1]["content"].split("--- ", 1)[1].split("\n", 1)[0] for b in bodies[2:]]
    assert edited == [
        "pkg/core.py",
        "app.py",
        "late.py",
        "pkg/__init__.py",
        "pkg/api.py",
        "pkg/star.py",
        "pkg/util.py",
        "unrelated.py",
    ]
    assert "defined at pkg/core.py:4:\ndef helper(value):" in bodies[2]["messages"][1]["content"]
    assert snapshot(py) == before  # nothing written


@pytest.mark.asyncio
async def test_a_block_that_does_not_apply_is_retried_once_with_the_error(py):
    wrong = TYPED.replace("def helper(value):\n    return value * 2\n=======", "def helper(x):\n=======")
    async with scripted_model() as (server, backend):
        server.script(CHAT, answer(wrong), answer(TYPED), *no_changes(6))  # then the importers of pkg/core.py
        change = await refactor(py, "add type hints", backend, path="pkg/core.py", max_steps=0)
        retry = server.bodies(CHAT)[1]["messages"]
        importers = [b["messages"][1]["content"].split("--- ", 1)[1].split("\n", 1)[0] for b in server.bodies(CHAT)[2:]]
    assert importers == ["app.py", "late.py", "pkg/__init__.py", "pkg/api.py", "pkg/star.py", "pkg/util.py"]
    assert [f.path for f in change.files] == ["pkg/core.py"]
    assert retry[2] == {"role": "assistant", "content": wrong}
    assert "block 1: the SEARCH text is not found" in retry[3]["content"]


@pytest.mark.asyncio
async def test_two_failed_answers_refuse_the_whole_refactor(py):
    breaks_syntax = TYPED.replace("def helper(value: int) -> int:", "def helper(value: int -> int:")
    before = snapshot(py)
    async with scripted_model() as (server, backend):
        server.script(CHAT, answer(breaks_syntax), answer(breaks_syntax))
        with pytest.raises(RefactorError, match=r"pkg/core.py failed validation twice: .*break the syntax"):
            await refactor(py, "add type hints", backend, path="pkg/core.py", max_steps=0)
        assert len(server.bodies(CHAT)) == 2
    assert snapshot(py) == before


@pytest.mark.asyncio
async def test_the_token_budget_is_enforced(py):
    async with scripted_model() as (server, backend):
        server.script(CHAT, answer(TYPED))
        with pytest.raises(RefactorError, match="more than 500 tokens"):
            await refactor(py, "add type hints", backend, path="pkg/core.py", max_steps=0, max_tokens=500)


@pytest.mark.asyncio
async def test_an_empty_instruction_or_no_files_is_refused(py):
    async with scripted_model() as (_, backend):
        with pytest.raises(RefactorError, match="needs an instruction"):
            await refactor(py, "  ", backend)


def test_blocks_are_parsed_strictly():
    text = "a = 1\nb = 2\na = 1\n"
    with pytest.raises(BlockError, match="found 2 times"):
        edits_for(text, parse_blocks("<<<<<<< SEARCH\na = 1\n=======\na = 3\n>>>>>>> REPLACE"))
    with pytest.raises(BlockError, match="malformed"):
        parse_blocks("<<<<<<< SEARCH\nb = 2\n>>>>>>> REPLACE")
    with pytest.raises(BlockError, match="no SEARCH/REPLACE blocks"):
        parse_blocks("sure, here is the change: b = 3")
    overlapping = (
        "<<<<<<< SEARCH\na = 1\nb = 2\n=======\nx\n>>>>>>> REPLACE\n"
        "<<<<<<< SEARCH\nb = 2\na = 1\n=======\ny\n>>>>>>> REPLACE"
    )
    with pytest.raises(BlockError, match="overlap"):
        edits_for(text, parse_blocks(overlapping))
    (edit,) = edits_for(text, parse_blocks("<<<<<<< SEARCH\nb = 2\n=======\n>>>>>>> REPLACE"))
    assert (edit.range.start.line, edit.range.end.line, edit.range.end.column, edit.new_text) == (1, 1, 5, "")
    assert parse_blocks("NO CHANGES") == []
