"""Inline completion (LSP 3.18) and the plain completion list, with cancel-previous per document.

A new request for a document cancels the one still running for it (its client gets "cancelled"),
and `$/cancelRequest` cancels the handler task at its next await: both stop the model's stream.
Automatic requests wait for the user's typing pause first (adaptive debounce).
"""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types as t

import agent

from .documents import rel_or_none
from .errors import guarded
from .positions import position_to_agent, range_to_wire

SYMBOL_KINDS = {
    "function": t.CompletionItemKind.Function,
    "method": t.CompletionItemKind.Method,
    "class": t.CompletionItemKind.Class,
    "interface": t.CompletionItemKind.Interface,
    "struct": t.CompletionItemKind.Struct,
    "enum": t.CompletionItemKind.Enum,
    "variable": t.CompletionItemKind.Variable,
    "constant": t.CompletionItemKind.Constant,
    "field": t.CompletionItemKind.Field,
    "module": t.CompletionItemKind.Module,
    "type": t.CompletionItemKind.TypeParameter,
}


def register(server) -> None:
    server.counters.update(pending=0, max_pending=0)  # completion requests being handled: the queue's depth

    @server.feature(t.TEXT_DOCUMENT_INLINE_COMPLETION, t.InlineCompletionOptions())
    @guarded(lambda: t.InlineCompletionList(items=[]), what="inline completion")
    async def inline_completion(ls, params: t.InlineCompletionParams) -> t.InlineCompletionList:
        invoked = params.context.trigger_kind == t.InlineCompletionTriggerKind.Invoked
        found = await suggest(ls, params.text_document.uri, params.position, invoked)
        if found is None:
            return t.InlineCompletionList(items=[])
        completion, lines = found
        item = t.InlineCompletionItem(completion.text, range=range_to_wire(lines, completion.range, ls.encoding))
        return t.InlineCompletionList(items=[item])

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=["."]))
    @guarded(lambda: t.CompletionList(is_incomplete=True, items=[]), what="completion")
    async def completion(ls, params: t.CompletionParams) -> t.CompletionList:
        uri = params.text_document.uri
        if rel_or_none(ls, uri) is None:  # outside the workspace: not even read from disk by pygls
            return t.CompletionList(is_incomplete=False, items=[])
        document = ls.workspace.get_text_document(uri)
        lines = document.source.split("\n")
        position = position_to_agent(lines, params.position, ls.encoding)
        items = []
        if ls.settings.enabled("completion") and ls.ws is not None:
            items = [symbol_item(s) for s in agent.symbols_at(ls.ws, ls.rel(uri), position, document.source)]
        if ls.settings.enabled("inlineCompletion") or ls.settings.enabled("completion"):
            found = await suggest(ls, uri, params.position, invoked=True)
            if found is not None:
                items.insert(0, model_item(ls, *found))
        return t.CompletionList(is_incomplete=True, items=items)


async def suggest(ls, uri: str, wire_position: t.Position, invoked: bool):
    """(Completion, lines) from the model, or None: no model, a stale position, nothing to suggest."""
    if ls.completer is None or not ls.settings.enabled("inlineCompletion") or rel_or_none(ls, uri) is None:
        return None
    counters = ls.counters
    counters["pending"] += 1
    counters["max_pending"] = max(counters["max_pending"], counters["pending"])
    try:
        return await _suggest(ls, uri, wire_position, invoked)
    finally:
        counters["pending"] -= 1


async def _suggest(ls, uri: str, wire_position: t.Position, invoked: bool):
    task = asyncio.current_task()
    previous = ls.inflight.get(uri)
    if previous is not None and previous is not task and not previous.done():
        previous.cancel()
        ls.counters["superseded"] += 1
    ls.inflight[uri] = task
    try:
        document = ls.workspace.get_text_document(uri)
        version = document.version
        if not invoked:
            await asyncio.sleep(ls.rhythm(uri).delay_s())
        if document.version != version:
            return None  # the text moved on while we waited; a newer request will come
        lines = document.source.split("\n")
        position = position_to_agent(lines, wire_position, ls.encoding)
        started = time.perf_counter()
        completion = await ls.completer.complete(
            ls.rel(uri), position, document.source, trigger="invoked" if invoked else "automatic"
        )
        ls.counters["completions"] += 1
        ls.counters["agent_ms_total"] += (time.perf_counter() - started) * 1000
        if completion is None:
            return None
        ls.counters["last_timings_ms"] = completion.timings_ms
        return completion, lines
    finally:
        if ls.inflight.get(uri) is task:
            del ls.inflight[uri]


def model_item(ls, completion, lines: list[str]) -> t.CompletionItem:
    first_line = completion.text.split("\n", 1)[0]
    return t.CompletionItem(
        label=first_line.strip() or completion.text.strip(),
        kind=t.CompletionItemKind.Snippet if completion.multiline else t.CompletionItemKind.Text,
        detail="wholerepo model",
        sort_text="0",
        filter_text=completion.text,
        text_edit=t.TextEdit(range_to_wire(lines, completion.range, ls.encoding), completion.text),
        insert_text_format=t.InsertTextFormat.PlainText,
    )


def symbol_item(symbol) -> t.CompletionItem:
    return t.CompletionItem(
        label=symbol.label,
        kind=SYMBOL_KINDS.get(symbol.kind, t.CompletionItemKind.Text),
        detail=f"{symbol.detail}  ({symbol.path})" if symbol.detail else symbol.path,
        documentation=symbol.doc or None,
        sort_text=("1" if symbol.member else "2") + symbol.label,
    )
