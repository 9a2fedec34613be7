"""Cross-file diagnostics from the index, offered as pull or push — never both (Neovim 0.11 and VS Code
pull when offered; pushing as well shows everything twice). Model review runs on save when enabled."""

from __future__ import annotations

import asyncio

from lsprotocol import types as t

import agent

from .convert import diagnostic, workspace_edit
from .errors import guarded

PUSH_DELAY_S = 0.3


def register(server) -> None:
    server.reviews = {}  # relative path -> findings of the last model review
    server.push_tasks = {}

    @server.feature(
        t.TEXT_DOCUMENT_DIAGNOSTIC, t.DiagnosticOptions(inter_file_dependencies=True, workspace_diagnostics=False)
    )
    @guarded(lambda: t.RelatedFullDocumentDiagnosticReport(items=[]), what="diagnostics")
    async def pull(ls, params: t.DocumentDiagnosticParams) -> t.RelatedFullDocumentDiagnosticReport:
        return t.RelatedFullDocumentDiagnosticReport(items=await document_diagnostics(ls, params.text_document.uri))


def pulls(ls) -> bool:
    document = ls.client_capabilities.text_document
    return document is not None and document.diagnostic is not None


async def findings(ls, rel: str) -> list:
    if ls.ws is None or not ls.settings.enabled("diagnostics"):
        return []
    if ls.index_ready is not None:
        await ls.index_ready.wait()
    if ls.index_status.get("state") != "ready":
        return []
    found = await asyncio.to_thread(agent.diagnose, ls.ws, rel)
    return list(found) + list(ls.reviews.get(rel, ()))


async def document_diagnostics(ls, uri: str) -> list[t.Diagnostic]:
    if not await ls.ready_for(uri):
        return []
    return [diagnostic(ls, finding) for finding in await findings(ls, ls.rel(uri))]


def after_change(ls, uri: str) -> None:
    """Push mode: publish a while after the buffer settles."""
    if pulls(ls) or not ls.settings.enabled("diagnostics"):
        return
    previous = ls.push_tasks.get(uri)
    if previous is not None and not previous.done():
        previous.cancel()
    ls.push_tasks[uri] = ls.spawn(_publish_later(ls, uri))


async def _publish_later(ls, uri: str) -> None:
    await asyncio.sleep(PUSH_DELAY_S)
    await _publish(ls, uri)


@guarded(what="publishing diagnostics")
async def _publish(ls, uri: str) -> None:
    document = ls.workspace.text_documents.get(uri)
    items = await document_diagnostics(ls, uri)
    version = document.version if document is not None else None
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri, items, version))


def clear(ls, uri: str) -> None:
    if not pulls(ls):
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri, []))


def review_on_save(ls, uri: str) -> None:
    if ls.settings.enabled("review") and ls.backend is not None and ls.ws is not None:
        ls.spawn(_review(ls, uri))


@guarded(what="model review")
async def _review(ls, uri: str) -> None:
    rel = ls.rel(uri)
    lines = ls.lines(rel)
    whole = agent.Range.of(0, 0, len(lines) - 1, len(lines[-1]))
    ls.reviews[rel] = await agent.review(ls.ws, rel, whole, ls.backend)
    if pulls(ls):
        workspace = ls.client_capabilities.workspace
        if workspace is not None and workspace.diagnostics is not None and workspace.diagnostics.refresh_support:
            await ls.workspace_diagnostic_refresh_async(None)
    else:
        await _publish(ls, uri)


async def quick_fixes(ls, uri: str, wanted: list[t.Diagnostic]) -> list[t.CodeAction]:
    """Code actions for the diagnostics in the request that came with a proposed fix."""
    wanted = [d for d in wanted if d.source == "wholerepo" and isinstance(d.data, dict) and d.data.get("fix")]
    if not wanted:
        return []
    actions = []
    for finding in await findings(ls, ls.rel(uri)):
        if finding.fix is None:
            continue
        shown = diagnostic(ls, finding)
        for wire in wanted:
            if wire.range == shown.range and wire.code == shown.code:
                actions.append(
                    t.CodeAction(
                        title=finding.fix.label,
                        kind=t.CodeActionKind.QuickFix,
                        diagnostics=[wire],
                        edit=workspace_edit(ls, finding.fix),
                        is_preferred=True,
                    )
                )
    return actions
