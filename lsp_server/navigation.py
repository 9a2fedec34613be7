"""Hover, code lens, go to definition and find references: each a call to agent/, converted at the wire.

Index queries run off the event loop, so typing and completions never wait behind them. Code lenses
are placed at once and counted lazily (codeLens/resolve), from a cache per buffer version and index
generation.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from lsprotocol import types as t
from lsprotocol.converters import get_converter

import agent

from .convert import location
from .errors import guarded
from .positions import range_to_wire

SHOW_REFERENCES = "wholerepo.showReferences"
LENS_CACHE_FILES = 16
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

    lenses = LensCache()

    @server.feature(t.TEXT_DOCUMENT_CODE_LENS)
    @guarded(list, what="code lens")
    async def code_lens(ls, params: t.CodeLensParams) -> list[t.CodeLens]:
        """Where the lenses go, at once; their counts come through codeLens/resolve."""
        uri = params.text_document.uri
        if not ls.settings.enabled("codeLens") or not await ls.ready_for(uri):
            return []
        rel = ls.rel(uri)
        file_lenses = await lenses.get(ls, rel)
        lines = ls.lines(rel)
        return [
            t.CodeLens(
                range_to_wire(lines, slot.range, ls.encoding), data={"uri": uri, "ord": slot.ord, "name": slot.name}
            )
            for slot in file_lenses.slots
        ]

    @server.feature(t.CODE_LENS_RESOLVE)
    @guarded(what="code lens")
    async def resolve_code_lens(ls, lens: t.CodeLens) -> t.CodeLens:
        data = lens.data if isinstance(lens.data, dict) else {}
        if "uri" not in data or not await ls.ready_for(data["uri"]):
            return lens
        rel = ls.rel(data["uri"])
        file_lenses = await lenses.get(ls, rel)
        info = await asyncio.to_thread(file_lenses.resolve, int(data.get("ord", -1)), data.get("name") or None)
        if info is None:  # the file changed under the lens: the editor asks for fresh ones
            return lens
        arguments = [[CONVERTER.unstructure(location(ls, found)) for found in info.locations]]
        lens.command = t.Command(title=info.title, command=SHOW_REFERENCES, arguments=arguments)
        return lens

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


class LensCache:
    """The lenses of recently asked files, per (buffer version, index generation): asking again
    without an edit, or resolving the lenses one by one, reuses one ``agent.FileLenses`` (and what it
    resolved), and any edit anywhere makes a fresh one (counts depend on every file)."""

    def __init__(self, size: int = LENS_CACHE_FILES) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple, agent.FileLenses]] = OrderedDict()

    async def get(self, ls, rel: str) -> agent.FileLenses:
        for uri in list(ls.overlay_tasks):  # counts depend on every file: let pending buffer edits land
            await ls.settled(uri)
        document = ls.workspace.text_documents.get(ls.uri(rel))
        key = (document.version if document is not None else None, ls.ws.index.generation)
        cached = self._entries.get(rel)
        if cached is not None and cached[0] == key:
            self._entries.move_to_end(rel)
            return cached[1]
        file_lenses = await asyncio.to_thread(agent.FileLenses, ls.ws, rel)
        self._entries[rel] = (key, file_lenses)
        self._entries.move_to_end(rel)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return file_lenses
