"""The model-driven refactor: an instruction becomes one confirmed WorkspaceChange.

1. Affected files come from the index: the symbol at the cursor and every file referring to it
   (callers, importers, subclasses), or the file and its importers; the bounded tool loop lets the
   model look around and name further files (``FILE: path`` lines).
2. Each file goes to the model with the instruction and the symbol's definition, and comes back as
   search/replace blocks.
3. The blocks are applied in memory and validated: every block applies exactly once, nothing
   outside the edited regions changed, the file still parses. A failing file is retried once with
   the error; a second failure refuses the whole refactor. Nothing is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from engine import Backend, ChatMessage, ChatRequest

from ..edits import FileChange, Position, WorkspaceChange, apply_edits
from ..workspace import Workspace
from .blocks import NO_CHANGES, BlockError, check_confined, edits_for, parse_blocks
from .errors import RefactorError
from .loop import WorkspaceTools, run_loop
from .occurrences import Finder
from .validate import check_parses

MAX_FILES = 8
EDIT_REPLY_TOKENS = 2048
_FILE_LINE = re.compile(r"^\s*FILE:\s*(\S+)\s*$", re.M)

SYSTEM = (
    "You are a careful refactoring assistant working inside one code repository. You only change code "
    "through SEARCH/REPLACE blocks; you never run commands."
)
EXPLORE = (
    "Instruction: {instruction}\n\nFiles the index says are affected:\n{files}\n\n"
    "Use the tools to look at what you need. When you are done, answer with one line `FILE: path` for "
    "every file that must change (the ones above included if they must), and nothing else."
)
EDIT = (
    "Instruction: {instruction}\n{symbol}\nApply the instruction to the file {path} below. Answer with "
    "SEARCH/REPLACE blocks only:\n<<<<<<< SEARCH\nexact lines from the file\n=======\nnew lines\n"
    ">>>>>>> REPLACE\nEach SEARCH must match exactly one place in the file. Answer {none} if this file needs "
    "no change.\n\n--- {path}\n{text}"
)


async def refactor(
    ws: Workspace,
    instruction: str,
    backend: Backend,
    *,
    path: str | None = None,
    position: Position | None = None,
    versions: Mapping[str, int] | None = None,
    max_steps: int = 6,
    max_tokens: int = 32000,
) -> WorkspaceChange:
    """Ask the model for the edits an instruction needs; one validated change needing confirmation."""
    if not instruction.strip():
        raise RefactorError("the refactor needs an instruction")
    rel = ws.relative(path) if path else None
    files, symbol = _affected(ws, rel, position)
    budget = _Budget(max_tokens)
    if max_steps > 0:
        conversation = [
            ChatMessage("system", SYSTEM),
            ChatMessage("user", EXPLORE.format(instruction=instruction, files="\n".join(files) or "(none)")),
        ]
        explored = await run_loop(ws, backend, conversation, max_steps=max_steps, max_tokens=max_tokens)
        budget.spend(explored.tokens)
        tools = WorkspaceTools(ws)
        for named in _FILE_LINE.findall(explored.answer):
            try:
                confined = tools.confined(named)
            except ValueError:
                continue  # a file outside the workspace or not indexed: never edited
            if confined not in files:
                files.append(confined)
    if not files:
        raise RefactorError("no file to change: put the cursor on a symbol or open the file to refactor")
    if len(files) > MAX_FILES:
        raise RefactorError(f"the refactor touches {len(files)} files, more than {MAX_FILES}; narrow it down")
    changes = []
    for file in files:
        edits = await _edit_file(ws, backend, instruction, symbol, file, budget)
        if edits:
            changes.append(FileChange(file, edits, (versions or {}).get(file)))
    return WorkspaceChange(f"Refactor: {instruction.strip()[:80]}", tuple(changes), needs_confirmation=True)


class _Budget:
    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self, tokens: int) -> None:
        self.used += tokens
        if self.used > self.limit:
            raise RefactorError(f"the refactor needs more than {self.limit} tokens; nothing was changed")


def _affected(ws: Workspace, rel: str | None, position: Position | None) -> tuple[list[str], str]:
    """The files the index says an edit at the cursor affects, and the symbol's definition text."""
    if rel is None:
        return [], ""
    if position is None:
        return [rel, *ws.dependents(rel)], ""
    finder = Finder(ws)
    _, targets = finder.definitions_at(rel, position.line, position.column)
    if not targets:
        return [rel, *ws.dependents(rel)], ""
    files = [rel]
    for target in targets:
        for site in finder.sites(target):
            if site.path not in files:
                files.append(site.path)
    target = targets[0]
    d = target.definition
    lines = finder.lines.lines(target.path)[d.start_line - 1 : d.end_line]
    symbol = f"\nThe symbol at the cursor, {d.name}, is defined at {target.path}:{d.name_line}:\n" + "\n".join(lines)
    return files, symbol + "\n"


async def _edit_file(ws: Workspace, backend: Backend, instruction: str, symbol: str, path: str, budget: _Budget):
    text = ws.index.source_text(path)
    if text is None:
        raise RefactorError(f"cannot read {path}")
    prompt = EDIT.format(instruction=instruction, symbol=symbol, path=path, text=text, none=NO_CHANGES)
    messages = [ChatMessage("system", SYSTEM), ChatMessage("user", prompt)]
    error = None
    for _attempt in range(2):  # the first answer, and one retry that is shown the error
        budget.spend(sum(backend.count_tokens(m.content) for m in messages) + EDIT_REPLY_TOKENS)
        reply, _ = await backend.complete_chat(ChatRequest(tuple(messages), max_tokens=EDIT_REPLY_TOKENS))
        try:
            return _validated_edits(path, text, reply)
        except (BlockError, RefactorError) as failure:
            error = str(failure)
            messages += [
                ChatMessage("assistant", reply),
                ChatMessage("user", f"Those blocks cannot be applied: {error}\nAnswer again with corrected blocks."),
            ]
    raise RefactorError(f"the model's edits to {path} failed validation twice: {error}; nothing was changed")


def _validated_edits(path: str, text: str, reply: str):
    blocks = parse_blocks(reply)
    if not blocks:
        return ()
    edits = edits_for(text, blocks)
    after = apply_edits(text, edits)
    check_confined(text, after, edits)
    check_parses({path: (text, after)})
    return edits
