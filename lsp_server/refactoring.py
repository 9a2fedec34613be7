"""Whole-repo refactors: prepareRename/rename (answered with a WorkspaceEdit), and code actions for
moving a definition (`refactor.move`), an instruction-driven rewrite (`refactor.rewrite`) and the
quick fixes diagnostics propose. Commands apply their edit through workspace/applyEdit."""

from __future__ import annotations

import asyncio

from lsprotocol import types as t
from pygls.exceptions import JsonRpcInvalidParams

import agent

from . import diagnostics
from .convert import change_summary, workspace_edit
from .errors import RequestFailed, guarded
from .positions import position_to_agent, range_to_wire

REFACTOR = "wholerepo.refactor"
MOVE = "wholerepo.move"
MOVE_TARGETS = 3
MOVABLE = (".py", ".pyi", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")  # languages agent.move_definition takes


def register(server) -> None:
    @server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
    @guarded(what="prepare rename")
    async def prepare_rename(ls, params: t.PrepareRenameParams):
        rel, position = ls.at(params.text_document, params.position)
        target = await asyncio.to_thread(agent.prepare_rename, ls.ws, rel, position)
        if target is None:
            return None
        return t.PrepareRenamePlaceholder(range_to_wire(ls.lines(rel), target.range, ls.encoding), target.name)

    @server.feature(t.TEXT_DOCUMENT_RENAME)
    async def rename(ls, params: t.RenameParams) -> t.WorkspaceEdit:
        rel, position = document_at(ls, params.text_document, params.position)
        change = await _refactor_call(agent.rename, ls.ws, rel, position, params.new_name, ls.versions())
        return workspace_edit(ls, change)

    @server.feature(
        t.TEXT_DOCUMENT_CODE_ACTION,
        t.CodeActionOptions(
            code_action_kinds=[
                t.CodeActionKind.QuickFix,
                t.CodeActionKind.RefactorMove,
                t.CodeActionKind.RefactorRewrite,
            ]
        ),
    )
    @guarded(list, what="code actions")
    async def code_actions(ls, params: t.CodeActionParams) -> list[t.CodeAction]:
        uri = params.text_document.uri
        actions = await diagnostics.quick_fixes(ls, uri, params.context.diagnostics)
        if ls.settings.enabled("refactor"):
            actions += move_actions(ls, uri, params.range.start)
            actions.append(rewrite_action(uri, params.range.start))
        wanted = params.context.only
        return [a for a in actions if not wanted or any(a.kind.startswith(kind) for kind in wanted)]

    @server.command(REFACTOR)
    async def refactor_command(ls, instruction: str = "", uri: str | None = None, position: dict | None = None):
        if not instruction or not instruction.strip():
            return {
                "message": "wholerepo.refactor needs an instruction (VS Code: 'wholerepo: Refactor…', "
                "Neovim: :WholerepoRefactor)"
            }
        if ls.backend is None:
            raise RequestFailed(f"no model for refactors: {ls.engine_status.get('message', 'still loading')}")
        rel, where = cursor_at(ls, uri, position)
        change = await _refactor_call(
            agent.refactor, ls.ws, instruction, ls.backend, path=rel, position=where, versions=ls.versions()
        )
        return await apply(ls, change)

    @server.command(MOVE)
    async def move_command(ls, uri: str, position: dict, target: str):
        rel, where = cursor_at(ls, uri, position)
        change = await _refactor_call(agent.move_definition, ls.ws, rel, where, target, ls.versions())
        return await apply(ls, change)


async def apply(ls, change) -> dict:
    """Send the change as one workspace/applyEdit; the summary says whether the editor applied it."""
    if not change.files:
        return {**change_summary(change), "applied": False, "message": "nothing to change"}
    result = await ls.workspace_apply_edit_async(t.ApplyWorkspaceEditParams(workspace_edit(ls, change), change.label))
    summary = {**change_summary(change), "applied": result.applied}
    if not result.applied:
        summary["message"] = result.failure_reason or "the editor did not apply the edit"
    return summary


async def _refactor_call(fn, *args, **kwargs):
    """Run a refactor; its RefactorError is the user's message (RequestFailed), anything else a failure."""
    try:
        if asyncio.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)
    except agent.RefactorError as error:
        raise RequestFailed(str(error)) from None


def document_at(ls, document: t.TextDocumentIdentifier, position: t.Position):
    """``ls.at``, with a document outside the workspace (or not a file) answered InvalidParams."""
    try:
        return ls.at(document, position)
    except ValueError as error:
        raise JsonRpcInvalidParams(f"{document.uri!r}: {error}") from None


def cursor_at(ls, uri: str | None, position: dict | None):
    """(relative path, agent Position) of a command's arguments; InvalidParams when the URI is not a
    workspace file or the position is not ``{"line": n, "character": n}``."""
    if uri is None:
        return None, None
    try:
        rel = ls.rel(uri)
        if position is None:
            return rel, None
        wire = t.Position(int(position["line"]), int(position["character"]))
    except (ValueError, TypeError, KeyError) as error:
        raise JsonRpcInvalidParams(f"bad document or position ({uri!r}, {position!r}): {error}") from None
    return rel, position_to_agent(ls.lines(rel), wire, ls.encoding)


def move_actions(ls, uri: str, start: t.Position) -> list[t.CodeAction]:
    """ "Move X to M" for a top-level definition under the cursor: M a new module named after it, and the
    files that import its module (where it is used)."""
    if ls.ws is None:
        return []
    rel = ls.rel(uri)
    suffix = rel[rel.rfind(".") :]  # the new module's language
    definition = ls.ws.index.definition_at(rel, start.line + 1)
    if suffix not in MOVABLE or definition is None or definition.parent != -1:
        return []
    if definition.name_line != start.line + 1:
        return []
    position = {"line": start.line, "character": start.character}
    folder = rel.rpartition("/")[0]
    fresh = f"{folder}/{definition.name.lower()}{suffix}" if folder else f"{definition.name.lower()}{suffix}"
    targets = ([] if (ls.ws.root / fresh).exists() else [fresh]) + ls.ws.dependents(rel)[:MOVE_TARGETS]
    return [
        t.CodeAction(
            title=f"Move '{definition.name}' to {target}",
            kind=t.CodeActionKind.RefactorMove,
            command=t.Command(
                title=f"Move '{definition.name}' to {target}", command=MOVE, arguments=[uri, position, target]
            ),
        )
        for target in targets
    ]


def rewrite_action(uri: str, start: t.Position) -> t.CodeAction:
    position = {"line": start.line, "character": start.character}
    return t.CodeAction(
        title="Rewrite with wholerepo…",
        kind=t.CodeActionKind.RefactorRewrite,
        command=t.Command(title="Rewrite with wholerepo…", command=REFACTOR, arguments=["", uri, position]),
    )
