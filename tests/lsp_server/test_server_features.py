"""Hover, code lens, definition, references, pull diagnostics, rename, code actions and commands through
a real client against `wholerepo serve` on a fixture repository. No model is configured here (the
local backend without a checkpoint), so this also checks that everything but completion works without one."""

from __future__ import annotations

import ast

import pytest
import pytest_asyncio
from lsprotocol import types as t
from pygls.exceptions import JsonRpcException

from .server_session import FILES, MAIN, REPORT, SHAPES, start, stop, write_repo

pytestmark = pytest.mark.asyncio(loop_scope="module")
EXTRA = {"util.py": "def double(x):\n    return 2 * x\n", "calc.py": "from util import double\n\nprint(double(2))\n"}


def as_command(action) -> t.Command:
    """The action's command. pytest-lsp's client decodes a CodeAction that carries only a command as a
    Command whose `command` field is the text of the whole nested command (a Python dict's repr)."""
    command = action if isinstance(action, t.Command) else action.command
    if command.command.startswith("{"):
        nested = ast.literal_eval(command.command)
        return t.Command(title=nested["title"], command=nested["command"], arguments=nested.get("arguments"))
    return command


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory):
    base = tmp_path_factory.mktemp("features")
    root = write_repo(base / "repo", {**FILES, **EXTRA})
    options = {"backend": {"kind": "local", "checkpoint": str(base / "no-such-model")}, "index_dir": str(base / "ix")}
    session = await start(root, options)
    await session.wait_status("index", "ready")
    session.open("main.py", MAIN)
    session.open("report.py", REPORT)
    yield session
    await stop(session)


def at(text: str, line: int, word: str, offset: int = 0) -> t.Position:
    """Where ``word`` starts on ``line`` (ASCII lines: code points = code units)."""
    return t.Position(line, text.split("\n")[line].index(word) + offset)


async def test_without_a_model_the_status_says_why(session):
    status = await session.wait_status("engine", "unavailable")
    assert "no-such-model" in status["engine"]["message"] or "checkpoint" in status["engine"]["message"]


async def test_hover_shows_definition_site_signature_and_cross_file_uses(session):
    hover = await session.client.text_document_hover_async(
        t.HoverParams(session.doc("main.py"), at(MAIN, 8, "make_circle"))
    )
    text = hover.contents.value
    assert hover.contents.kind == t.MarkupKind.Markdown
    assert "def make_circle(radius: float) -> Circle" in text
    assert "Defined at shapes.py:15" in text and "report.py" in text


async def test_definition_and_references_cross_files(session):
    where = t.TextDocumentPositionParams(session.doc("main.py"), at(MAIN, 8, "make_circle"))
    [found] = await session.client.text_document_definition_async(
        t.DefinitionParams(where.text_document, where.position)
    )
    assert found.uri == session.uri("shapes.py") and found.range.start == t.Position(14, 4)
    references = await session.client.text_document_references_async(
        t.ReferenceParams(
            text_document=where.text_document,
            position=where.position,
            context=t.ReferenceContext(include_declaration=True),
        )
    )
    assert {session.uri("main.py"), session.uri("report.py"), session.uri("shapes.py")} <= {r.uri for r in references}


async def test_code_lens_counts_references_and_lists_them_through_its_command(session):
    lenses = await session.client.text_document_code_lens_async(t.CodeLensParams(session.doc("shapes.py")))
    circle = next(lens for lens in lenses if lens.range.start == t.Position(3, 6))
    assert circle.command is None  # counted on demand: codeLens/resolve
    circle = await session.client.code_lens_resolve_async(circle)
    assert circle.command.title == "4 references in 2 files"
    listed = await session.client.workspace_execute_command_async(
        t.ExecuteCommandParams(circle.command.command, circle.command.arguments)
    )
    assert {item["uri"] for item in listed} == {session.uri("main.py"), session.uri("shapes.py")}


async def test_pull_diagnostics_name_the_unknown_import(session):
    report = await session.client.text_document_diagnostic_async(t.DocumentDiagnosticParams(session.doc("report.py")))
    [finding] = [d for d in report.items if d.code == "unknown-import-name"]
    assert finding.range == t.Range(t.Position(1, 16), t.Position(1, 24)) and "Squircle" in finding.message
    assert finding.source == "wholerepo"
    assert session.uri("report.py") not in session.client.diagnostics  # pulled, never pushed as well


async def test_buffer_edits_reach_the_diagnostics_before_any_save(session):
    fixed = REPORT.replace("from geo import Squircle\n", "from geo import tau\n")
    session.change("report.py", fixed)
    for _ in range(50):  # the overlay lands a moment after the edit
        report = await session.client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(session.doc("report.py"))
        )
        if not any(d.code == "unknown-import-name" for d in report.items):
            break
    assert not any(d.code == "unknown-import-name" for d in report.items)
    session.change("report.py", REPORT)


async def test_rename_returns_one_versioned_workspace_edit_that_asks_for_confirmation(session):
    position = at(MAIN, 8, "make_circle")
    prepared = await session.client.text_document_prepare_rename_async(
        t.PrepareRenameParams(session.doc("main.py"), position)
    )
    assert prepared.placeholder == "make_circle" and prepared.range.start == position
    edit = await session.client.text_document_rename_async(
        t.RenameParams(text_document=session.doc("main.py"), position=position, new_name="new_circle")
    )
    by_uri = {change.text_document.uri: change for change in edit.document_changes}
    assert set(by_uri) == {session.uri(p) for p in ("main.py", "report.py", "shapes.py")}
    assert by_uri[session.uri("main.py")].text_document.version == session.versions["main.py"]
    assert by_uri[session.uri("shapes.py")].text_document.version is None  # not open: no version to check
    [annotation] = edit.change_annotations.values()
    assert annotation.needs_confirmation and "new_circle" in annotation.label
    assert all(e.new_text == "new_circle" for change in edit.document_changes for e in change.edits)


async def test_rename_to_a_bad_name_is_a_clear_error(session):
    with pytest.raises(JsonRpcException) as failed:
        await session.client.text_document_rename_async(
            t.RenameParams(
                text_document=session.doc("main.py"), position=at(MAIN, 8, "make_circle"), new_name="not a name"
            )
        )
    assert failed.value.code == -32803 and "not a name" in str(failed.value)


async def test_move_code_action_applies_its_edit_through_the_client(session):
    actions = await move_actions(session, "util.py", t.Position(0, 4))
    assert [action.title for action in actions] == ["Move 'double' to double.py", "Move 'double' to calc.py"]
    command = as_command(actions[0])
    before = len(session.applied)
    summary = await session.client.workspace_execute_command_async(
        t.ExecuteCommandParams(command.command, command.arguments)
    )
    assert summary["applied"] and set(summary["files"]) == {"calc.py", "double.py", "util.py"}
    [applied] = session.applied[before:]
    assert applied.label == summary["label"]
    [annotation] = applied.edit.change_annotations.values()
    assert annotation.needs_confirmation


async def test_a_refused_move_says_why(session):
    session.open("shapes.py", SHAPES)
    actions = await move_actions(session, "shapes.py", t.Position(14, 4))
    assert [action.title for action in actions] == [
        "Move 'make_circle' to make_circle.py",
        "Move 'make_circle' to main.py",
        "Move 'make_circle' to report.py",
    ]
    command = as_command(actions[0])
    with pytest.raises(JsonRpcException) as refused:
        await session.client.workspace_execute_command_async(t.ExecuteCommandParams(command.command, command.arguments))
    assert refused.value.code == -32803 and "move 'Circle' first" in str(refused.value)


async def move_actions(session, rel: str, position: t.Position) -> list:
    return await session.client.text_document_code_action_async(
        t.CodeActionParams(
            session.doc(rel),
            t.Range(position, position),
            t.CodeActionContext(diagnostics=[], only=[t.CodeActionKind.RefactorMove]),
        )
    )


async def test_rewrite_action_is_offered_and_needs_a_model(session):
    actions = await session.client.text_document_code_action_async(
        t.CodeActionParams(
            session.doc("main.py"),
            t.Range(t.Position(3, 0), t.Position(3, 0)),
            t.CodeActionContext(diagnostics=[], only=[t.CodeActionKind.RefactorRewrite]),
        )
    )
    [rewrite] = actions
    assert as_command(rewrite).command == "wholerepo.refactor"
    with pytest.raises(JsonRpcException) as failed:
        await session.client.workspace_execute_command_async(
            t.ExecuteCommandParams(
                "wholerepo.refactor", ["add type hints", session.uri("main.py"), {"line": 3, "character": 0}]
            )
        )
    assert "no model" in str(failed.value)


async def test_explain_without_a_model_gives_the_index_summary_and_says_so(session):
    result = await session.client.workspace_execute_command_async(
        t.ExecuteCommandParams("wholerepo.explain", [session.uri("main.py"), {"line": 8, "character": 12}])
    )
    assert "def make_circle" in result["markdown"] and "no model loaded" in result["markdown"]
    assert result["model"] is None


async def test_show_context_before_any_completion_is_null(session):
    assert await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.showContext")) is None


async def test_documents_outside_the_workspace_get_empty_answers_and_no_pop_up(session):
    shown, logged = len(session.client.messages), len(session.client.log_messages)
    for uri in ("file:///elsewhere/x.py", "untitled:Untitled-1"):
        document = t.TextDocumentIdentifier(uri)
        assert await session.client.text_document_hover_async(t.HoverParams(document, t.Position(0, 0))) is None
        assert not await session.client.text_document_code_lens_async(t.CodeLensParams(document))
        definition = await session.client.text_document_definition_async(t.DefinitionParams(document, t.Position(0, 0)))
        assert not definition
    assert session.client.messages[shown:] == []
    assert any("untitled:Untitled-1 is not in the workspace" in m.message for m in session.client.log_messages[logged:])
    status = await session.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
    assert status["index"]["state"] == "ready"  # still serving


async def test_watched_file_changes_reach_the_index(session):
    (session.root / "geometry.py").write_text("def hypotenuse(a, b):\n    return (a * a + b * b) ** 0.5\n")
    session.client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams([t.FileEvent(session.uri("geometry.py"), t.FileChangeType.Created)])
    )
    text = "from geometry import hypotenuse\n\nprint(hypotenuse(3, 4))\n"
    session.open("use_geometry.py", text)
    for _ in range(50):
        found = await session.client.text_document_definition_async(
            t.DefinitionParams(session.doc("use_geometry.py"), t.Position(2, 8))
        )
        if found:
            break
    assert [(f.uri, f.range.start) for f in found] == [(session.uri("geometry.py"), t.Position(0, 4))]


async def test_indexing_reported_work_done_progress(session):
    [reports] = [r for r in session.client.progress_reports.values() if getattr(r[0], "title", "").endswith("indexing")]
    assert isinstance(reports[0], t.WorkDoneProgressBegin) and reports[0].title == "wholerepo: indexing"
    assert isinstance(reports[-1], t.WorkDoneProgressEnd)
    assert all(isinstance(r, t.WorkDoneProgressReport) for r in reports[1:-1])
