"""Commands that answer with text: `wholerepo.explain` (a model-written account of a symbol's or file's
cross-file dependencies, or the index's summary when no model is loaded) and `wholerepo.showContext`
(the pack behind the last completion) and `wholerepo.showExcluded` (what was kept out of the last requests and
what was redacted in them)."""

from __future__ import annotations

import asyncio

import agent

from .errors import RequestFailed
from .refactoring import cursor_at

EXPLAIN = "wholerepo.explain"
SHOW_CONTEXT = "wholerepo.showContext"
SHOW_EXCLUDED = "wholerepo.showExcluded"
STATUS = "wholerepo.status"


def register(server) -> None:
    @server.command(EXPLAIN)
    async def explain(ls, uri: str, position: dict | None = None) -> dict:
        rel, where = cursor_at(ls, uri, position)
        explanation = None
        try:
            if where is not None:
                explanation = await asyncio.to_thread(agent.explain_symbol, ls.ws, rel, where)
            if explanation is None:
                explanation = await asyncio.to_thread(agent.explain_file, ls.ws, rel)
        except FileNotFoundError as error:  # open in the editor but not (yet) in the index
            raise RequestFailed(str(error)) from None
        if ls.backend is None:
            summary = agent.hover_markdown(explanation)
            note = f"_(no model loaded: {ls.engine_status.get('message', 'still loading')}; the index's summary)_"
            return {"markdown": f"{summary}\n\n{note}", "model": None}
        try:
            narrative = await agent.narrate(ls.ws, explanation, ls.backend)
        except agent.BackendError as error:
            raise RequestFailed(f"the model could not explain: {error}") from None
        return {"markdown": narrative, "model": ls.backend.info.model}

    @server.command(SHOW_CONTEXT)
    async def show_context(ls) -> dict | None:
        last = ls.completer.last if ls.completer is not None else None
        if last is None or last.pack is None:
            return None
        pack = last.pack
        lines = [f"# Context of the last completion ({pack.tokens} of {pack.budget} tokens, {pack.strategy})", ""]
        lines += [f"- `{i.path}:{i.start_line}-{i.end_line}` {i.tokens} tokens — {i.reason}" for i in pack.items]
        return {**pack.to_json(), "suggestion": last.text, "markdown": "\n".join(lines)}

    @server.command(SHOW_EXCLUDED)
    async def show_excluded(ls) -> dict:
        if ls.ws is None:
            raise RequestFailed("no workspace folder is open")
        return await asyncio.to_thread(agent.exclusion_report, ls.ws, ls.settings.engine)

    @server.command(STATUS)
    async def status(ls) -> dict:
        ls.send_status()
        counters = {**ls.counters, "inflight": len(ls.inflight), "background": len(ls.background)}
        return {"engine": ls.engine_status, "index": ls.index_status, "counters": counters}
