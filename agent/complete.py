"""Code completion as a list of named steps (the shape of Tabby's agent):

1. reuse a suggestion the user is typing through (the type-through cache);
2. pack the context for the cursor, in the backend's window;
3. render the fill-in-the-middle prompt in the model's format;
4. stream the middle from the backend, stopping early once the scope is done or the deadline passes;
5. post-process with small filters (agent/completion/filters.py);
6. remember the suggestion for type-through, and return it with the pack behind it.

Cancelling the task that awaits `complete` stops every step, the model's stream included.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from engine import Backend, BackendError, ContextTooLong, FimRequest, ModelTemplate

from .completion import TypeThroughCache, symbol_items, wants_multiline, word_start
from .completion.filters import Surroundings, postprocess
from .completion.symbols import SymbolItem
from .context import Cursor, Pack, PackRequest, render_fim_prompt
from .edits import Position, Range
from .engine_health import EngineHealth
from .workspace import Workspace

TEMPLATE_MARGIN = 64  # tokens for the FIM markers and file headers around the packed context
WHOLE_REPO_MIN_BUDGET = 32_768  # context budgets from which `prepare` pays (whole files start to fit)


@dataclass(frozen=True)
class CompletionSettings:
    budget: int | None = None  # tokens of packed context; None: what the backend's window leaves
    window_budget: int = 1024  # tokens of the cursor's own file around the cursor
    max_tokens: int = 64  # single-line suggestions
    max_tokens_multiline: int = 192
    deadline_s: float = 5.0  # the model's whole answer; past it, what arrived is used
    pack_deadline_ms: float | None = 200.0  # per context source
    strategy: str = "default"
    recheck_first_s: float = 1.0  # after a model failure, completions skip the model this long, then re-check
    recheck_max_s: float = 15.0  # the wait doubles per failure in a row, up to this


@dataclass(frozen=True)
class Completion:
    text: str  # replaces `range`: the word already typed, then the suggestion
    range: Range  # from the start of the word being typed to the cursor
    suggestion: str  # what the model adds after the cursor
    pack: Pack | None  # the context behind it (provenance)
    from_cache: bool = False
    multiline: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)  # "pack", "model": where the time went


@dataclass(frozen=True)
class _Cursor:
    path: str
    position: Position
    lines: list[str]
    before: str  # the buffer up to the cursor
    after: str  # the buffer after it

    @property
    def line_prefix(self) -> str:
        return self.lines[self.position.line][: self.position.column]

    @property
    def line_suffix(self) -> str:
        return self.lines[self.position.line][self.position.column :]


class Completer:
    """Completions for one workspace and one backend; keeps the type-through cache between calls."""

    def __init__(self, ws: Workspace, backend: Backend, settings: CompletionSettings | None = None) -> None:
        self.ws = ws
        self.backend = backend
        self.settings = settings or CompletionSettings()
        self.cache: TypeThroughCache[tuple[Pack | None, bool]] = TypeThroughCache()
        self.last: Completion | None = None
        self._pack_lock = asyncio.Lock()  # one pack at a time: the packer's caches are not shared between threads
        self.health = EngineHealth(self.settings.recheck_first_s, self.settings.recheck_max_s)

    async def complete(self, path: str, position: Position, buffer_text: str, *, trigger: str = "automatic"):
        """The suggestion at ``position`` of ``path`` (whose editor text is ``buffer_text``), or None."""
        if self.ws.is_excluded(path):
            return None  # an ignored or credential file never goes into a prompt, even while open
        cursor = _locate(path, position, buffer_text)
        completion = self._from_cache(cursor)
        if completion is None:
            if not self.health.allow():
                return None  # the model is failing: answer nothing until its re-check is due
            try:
                completion = await self._fresh(cursor)
            finally:
                self.health.release()
            if completion is None:
                return None
        self.last = completion
        return completion

    def symbols(self, path: str, position: Position, buffer_text: str) -> list[SymbolItem]:
        return symbols_at(self.ws, path, position, buffer_text)

    def forget(self, path: str) -> None:
        self.cache.forget(path)

    # -- the steps ---------------------------------------------------------------------------------

    async def _fresh(self, cursor: _Cursor) -> Completion | None:
        """Pack, render, ask the model, post-process: a new suggestion, or None."""
        position = cursor.position
        multiline = wants_multiline(cursor.path, cursor.lines, position.line, position.column)
        started = time.perf_counter()
        pack = await self._pack(cursor)
        packed = time.perf_counter()
        prefix, suffix = split_fim(
            render_fim_prompt(pack, self.backend.info.template, self.ws.root.name), self.backend.info.template
        )
        rendered = time.perf_counter()
        raw = await self._generate(prefix, suffix, multiline)
        generated = time.perf_counter()
        suggestion = postprocess(raw, _surroundings(cursor, multiline))
        timings = {"pack": (packed - started) * 1000, "model": (generated - rendered) * 1000}
        if not suggestion:
            return None
        self.cache.store(cursor.path, cursor.before, cursor.after, suggestion, (pack, multiline))
        return _completion(cursor, suggestion, pack, multiline, from_cache=False, timings=timings)

    def _from_cache(self, cursor: _Cursor) -> Completion | None:
        hit = self.cache.lookup(cursor.path, cursor.before, cursor.after)
        if hit is None:
            return None
        rest, (pack, multiline) = hit
        return _completion(cursor, rest, pack, multiline, from_cache=True)

    async def _pack(self, cursor: _Cursor) -> Pack:
        budget, window_budget = self._budgets()
        request = PackRequest(
            Cursor(cursor.path, cursor.position.line + 1, cursor.position.column + 1, "\n".join(cursor.lines)),
            budget,
            self.settings.strategy,
            window_budget=window_budget,
            deadline_ms=self.settings.pack_deadline_ms,
        )
        packer = self.ws.packer(self.backend.info.tokenizer)
        async with self._pack_lock:
            packing = asyncio.ensure_future(asyncio.to_thread(packer.pack, request))
            try:
                return await asyncio.shield(packing)
            except asyncio.CancelledError:
                # A thread cannot be stopped: keep the lock until it is done, so a storm of keystrokes
                # never runs packs side by side (each would slow the one the user is waiting for).
                await asyncio.wait({packing})
                raise

    async def prepare(self) -> int:
        """After indexing, do what a first large pack would do (token counts of every file, the map, the
        lexical chunks, the reference graph) in the background, one pack's turn. Returns the repo's tokens.

        Only windows that can take whole files need it: below WHOLE_REPO_MIN_BUDGET a pack counts little."""
        budget, _ = self._budgets()
        if budget < WHOLE_REPO_MIN_BUDGET:
            return 0
        packer = self.ws.packer(self.backend.info.tokenizer)
        async with self._pack_lock:
            return await asyncio.to_thread(packer.prepare)

    def _budgets(self) -> tuple[int, int]:
        """Context and cursor-window budgets from the backend's window, capped by the settings."""
        usable = self.backend.info.context_window - self.settings.max_tokens_multiline - TEMPLATE_MARGIN
        window_budget = max(16, min(self.settings.window_budget, usable // 2))
        budget = max(0, usable - window_budget)
        if self.settings.budget is not None:
            budget = min(budget, self.settings.budget)
        return budget, window_budget

    async def _generate(self, prefix: str, suffix: str, multiline: bool) -> str:
        """Stream the middle; stop at the first line break in single-line mode, or at the deadline.

        A model that fails or misses the deadline gives what arrived (or "") and is noted in `health`,
        which says why and decides when to ask it again."""
        max_tokens = self.settings.max_tokens_multiline if multiline else self.settings.max_tokens
        stream = self.backend.fim(FimRequest(prefix=prefix, suffix=suffix, max_tokens=max_tokens))
        pieces: list[str] = []
        timed_out = False
        try:
            async with asyncio.timeout(self.settings.deadline_s):
                async for delta in stream:
                    pieces.append(delta.text)
                    if not multiline and "\n" in delta.text:
                        break
        except TimeoutError:
            timed_out = True  # use what arrived in time
        except ContextTooLong:
            raise  # this prompt's fault, not the model's: the caller's budgets are wrong
        except BackendError as error:
            self.health.failed(str(error))
            return ""
        finally:
            await stream.aclose()
        if timed_out:
            info = self.backend.info
            where = "mid-answer (the stream stalled)" if any(pieces) else "before any of the answer arrived"
            self.health.failed(
                f"the model ({info.backend} {info.model}) timed out after {self.settings.deadline_s:g} s {where}"
            )
        else:
            self.health.succeeded()
        return "".join(pieces)


def symbols_at(ws: Workspace, path: str, position: Position, buffer_text: str) -> list[SymbolItem]:
    """Index-based items for the plain completion list, no model needed: members after a dot,
    importable names matching the word being typed."""
    return symbol_items(ws.index, path, buffer_text, position.line, position.column)


def split_fim(prompt: str, template: ModelTemplate) -> tuple[str, str]:
    """A rendered FIM prompt back into (prefix, suffix): the backend wraps them in its own markers."""
    return template.unfim(prompt)


def _locate(path: str, position: Position, text: str) -> _Cursor:
    lines = text.split("\n")
    if not 0 <= position.line < len(lines) or not 0 <= position.column <= len(lines[position.line]):
        raise ValueError(f"position {position.line}:{position.column} is outside {path}")
    offset = sum(len(line) + 1 for line in lines[: position.line]) + position.column
    return _Cursor(path, position, lines, text[:offset], text[offset:])


def _surroundings(cursor: _Cursor, multiline: bool) -> Surroundings:
    following = tuple(cursor.lines[cursor.position.line + 1 : cursor.position.line + 6])
    return Surroundings(cursor.line_prefix, cursor.line_suffix, following, multiline)


def _completion(
    cursor: _Cursor, suggestion: str, pack: Pack | None, multiline: bool, *, from_cache: bool, timings=None
) -> Completion:
    start = word_start(cursor.line_prefix)
    typed = cursor.line_prefix[start:]
    line = cursor.position.line
    return Completion(
        text=typed + suggestion,
        range=Range.of(line, start, line, cursor.position.column),
        suggestion=suggestion,
        pack=pack,
        from_cache=from_cache,
        multiline=multiline,
        timings_ms=timings or {},
    )


__all__ = ["Completer", "Completion", "CompletionSettings", "split_fim", "symbols_at"]
