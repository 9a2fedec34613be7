"""Open documents overlay the index: unsaved text wins over the disk copy everywhere.

pygls keeps each document's text (incremental sync); here the index learns it, a short while after
the last edit and off the event loop, since a parse of a large file takes milliseconds.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types as t

from . import diagnostics

OVERLAY_DELAY_S = 0.1


def register(server) -> None:
    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls, params: t.DidOpenTextDocumentParams) -> None:
        schedule_overlay(ls, params.text_document.uri, delay=0)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls, params: t.DidChangeTextDocumentParams) -> None:
        ls.rhythm(params.text_document.uri).keystroke()
        schedule_overlay(ls, params.text_document.uri, delay=OVERLAY_DELAY_S)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls, params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        _cancel(ls.overlay_tasks.pop(uri, None))
        ls.rhythms.pop(uri, None)
        if (rel := rel_or_none(ls, uri)) is not None:
            if ls.completer is not None:
                ls.completer.forget(rel)
            await asyncio.to_thread(ls.ws.index.close_buffer, rel)
        diagnostics.clear(ls, uri)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls, params: t.DidSaveTextDocumentParams) -> None:
        if rel_or_none(ls, params.text_document.uri) is not None:  # a file outside is never sent for review
            diagnostics.review_on_save(ls, params.text_document.uri)

    @server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(ls, params: t.DidChangeWatchedFilesParams) -> None:
        paths = [rel for change in params.changes if (rel := rel_or_none(ls, change.uri)) is not None]
        if paths:
            await asyncio.to_thread(ls.ws.index.refresh, paths)


def schedule_overlay(ls, uri: str, delay: float) -> None:
    """Update the index from the buffer after ``delay``; a newer edit restarts the wait."""
    _cancel(ls.overlay_tasks.get(uri))
    ls.overlay_tasks[uri] = ls.spawn(_overlay(ls, uri, delay))


async def _overlay(ls, uri: str, delay: float) -> None:
    await asyncio.sleep(delay)
    if ls.ws is None:
        return
    if ls.index_ready is not None:
        await ls.index_ready.wait()
    rel = rel_or_none(ls, uri)
    document = ls.workspace.text_documents.get(uri)
    if rel is None or document is None:
        return
    await asyncio.to_thread(ls.ws.index.update, rel, document.source)
    diagnostics.after_change(ls, uri)


def rel_or_none(ls, uri: str) -> str | None:
    """The document's workspace-relative path; None outside the workspace (never indexed, never read)."""
    try:
        return ls.rel(uri)
    except ValueError:
        return None


def _cancel(task: asyncio.Task | None) -> None:
    if task is not None and not task.done():
        task.cancel()
