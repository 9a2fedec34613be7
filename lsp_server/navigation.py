"""Hover, code lens, go to definition and find references: each a call to agent/, converted at the wire.

Index queries run off the event loop, so typing and completions never wait behind them.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types as t
from lsprotocol.converters import get_converter

import agent

from .convert import location
from .errors import guarded
from .positions import range_to_wire

SHOW_REFERENCES = "wholerepo.showReferences"
CONVERTER = get_converter()


def register(server) -> None:
    @server.feature(t.TEXT_DOCUMENT_HOVER)
    @guarded(what="hover")
    async def hover(ls, params: t.HoverParams) -> t.Hover | None:
        if not ls.settings.enabled("hover") or not await ls.ready_for(params.text_document.uri):
            return None
        rel, position = ls.at(params.text_document, params.position)
        explanation = await asyncio.to_thread(agent.explain_symbol, ls.ws, rel, position)
        if explanation is None:
            return None
        markdown = agent.hover_markdown(explanation)
        return t.Hover(t.MarkupContent(t.MarkupKind.Markdown, markdown))

    @server.feature(t.TEXT_DOCUMENT_CODE_LENS)
    @guarded(list, what="code lens")
    async def code_lens(ls, params: t.CodeLensParams) -> list[t.CodeLens]:
        if not ls.settings.enabled("codeLens") or not await ls.ready_for(params.text_document.uri):
            return []
        rel = ls.rel(params.text_document.uri)
        lenses = await asyncio.to_thread(agent.code_lenses, ls.ws, rel)
        lines = ls.lines(rel)
        return [
            t.CodeLens(
                range_to_wire(lines, lens.range, ls.encoding),
                t.Command(
                    title=lens.title,
                    command=SHOW_REFERENCES,
                    arguments=[[CONVERTER.unstructure(location(ls, found)) for found in lens.locations]],
                ),
            )
            for lens in lenses
        ]

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    @guarded(list, what="go to definition")
    async def definition(ls, params: t.DefinitionParams) -> list[t.Location]:
        if not await ls.ready_for(params.text_document.uri):
            return []
        rel, position = ls.at(params.text_document, params.position)
        found = await asyncio.to_thread(agent.definition_at, ls.ws, rel, position)
        return [location(ls, each) for each in found]

    @server.feature(t.TEXT_DOCUMENT_REFERENCES)
    @guarded(list, what="find references")
    async def references(ls, params: t.ReferenceParams) -> list[t.Location]:
        if not await ls.ready_for(params.text_document.uri):
            return []
        rel, position = ls.at(params.text_document, params.position)
        include = params.context.include_declaration
        found = await asyncio.to_thread(agent.references_at, ls.ws, rel, position, include)
        return [location(ls, each) for each in found]

    @server.command(SHOW_REFERENCES)
    async def show_references(ls, *arguments) -> list:
        """The code lens's command: the locations it lists (editors show them in their references view)."""
        return list(arguments[0]) if arguments else []
