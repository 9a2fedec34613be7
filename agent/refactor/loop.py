"""The bounded tool loop: a model explores the workspace through four read-only tools.

Tools: search symbols, read a span of a file, find references, list a file's dependencies. Every
tool reads only files the index knows under the workspace root (paths leaving it, or naming files
the index skips, get an error string back, never data); there is no tool that writes, runs a
command or reaches the network. The loop stops at the model's plain answer, after ``max_steps``
model calls, or when the conversation would pass ``max_tokens`` (prompt and replies, counted with
the backend's tokenizer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from engine import Backend, ChatMessage, ChatRequest, ToolCall, ToolSpec

from ..workspace import Workspace
from .occurrences import Finder

MAX_SPAN_LINES = 200
MAX_RESULTS = 30
MAX_TOOL_RESULT_CHARS = 6000
REPLY_TOKENS = 1024

TOOLS = (
    ToolSpec(
        "search_symbols",
        "Find definitions (functions, classes, methods, variables) whose name matches a query.",
        {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    ),
    ToolSpec(
        "read_span",
        "Read lines start_line..end_line (1-based, inclusive, at most 200) of a workspace file.",
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer"},
                "end_line": {"type": "integer"},
            },
            "required": ["path", "start_line", "end_line"],
        },
    ),
    ToolSpec(
        "find_references",
        "Every place that refers to the symbol named `name` on 1-based `line` of `path`.",
        {
            "type": "object",
            "properties": {"path": {"type": "string"}, "line": {"type": "integer"}, "name": {"type": "string"}},
            "required": ["path", "line", "name"],
        },
    ),
    ToolSpec(
        "list_dependencies",
        "What a workspace file imports (with the files each import resolves to) and which files import it.",
        {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    ),
)


class ToolRefused(ValueError):
    """A tool call the loop answers with an error message instead of data."""


@dataclass
class LoopResult:
    answer: str  # the model's final plain reply ("" when a cap stopped it)
    stopped: str  # "answer" | "steps" | "tokens"
    steps: int
    tokens: int
    calls: list[tuple[str, str]] = field(default_factory=list)  # (tool, result first line) in order
    files_read: list[str] = field(default_factory=list)


class WorkspaceTools:
    """The four tools over one workspace, each confined to the files its index knows."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.files_read: list[str] = []

    def call(self, call: ToolCall) -> str:
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise ToolRefused("arguments must be a JSON object")
            handler = {
                "search_symbols": self.search_symbols,
                "read_span": self.read_span,
                "find_references": self.find_references,
                "list_dependencies": self.list_dependencies,
            }.get(call.name)
            if handler is None:
                raise ToolRefused(f"unknown tool {call.name!r}; the tools are " + ", ".join(t.name for t in TOOLS))
            result = handler(**arguments)
        except json.JSONDecodeError as error:
            return f"error: arguments are not JSON ({error.msg})"
        except TypeError as error:
            return f"error: bad arguments for {call.name}: {error}"
        except (ToolRefused, ValueError) as error:
            return f"error: {error}"
        return result[:MAX_TOOL_RESULT_CHARS]

    def confined(self, path: object) -> str:
        """A workspace-relative path of an indexed file; ToolRefused for anything else."""
        if not isinstance(path, str) or not path or "\0" in path:
            raise ToolRefused("path must be a non-empty string")
        try:
            rel = self.ws.relative(path)  # agent/confine.py: `..`, `~`, absolute and symlinked-out paths refused
        except ValueError:
            raise ToolRefused(f"{path} is outside the workspace") from None
        if not self.ws.is_indexed(rel):
            raise ToolRefused(f"{path} is not a source file of the workspace")
        return rel

    def search_symbols(self, query: str) -> str:
        found = self.ws.symbols(str(query), limit=MAX_RESULTS)
        lines = [f"{d.path}:{d.definition.name_line} {d.definition.kind} {d.definition.signature}" for d in found]
        return "\n".join(lines) or "no matches"

    def read_span(self, path: str, start_line: int, end_line: int) -> str:
        rel = self.confined(path)
        start, end = int(start_line), int(end_line)
        if start < 1 or end < start:
            raise ToolRefused("need 1 <= start_line <= end_line")
        end = min(end, start + MAX_SPAN_LINES - 1)
        lines = (self.ws.index.source_text(rel) or "").split("\n")
        if rel not in self.files_read:
            self.files_read.append(rel)
        return "\n".join(f"{n}: {lines[n - 1]}" for n in range(start, min(end, len(lines)) + 1)) or "(past the end)"

    def find_references(self, path: str, line: int, name: str) -> str:
        rel = self.confined(path)
        finder = Finder(self.ws)
        text = finder.lines.line(rel, int(line) - 1)
        column = text.find(str(name))
        if column < 0:
            raise ToolRefused(f"{name!r} is not on line {line} of {rel}")
        _, found = finder.definitions_at(rel, int(line) - 1, column)
        if not found:
            return f"{name} at {rel}:{line} is not a definition of the workspace"
        sites = [s for target in found for s in finder.sites(target)][:MAX_RESULTS]
        return "\n".join(f"{s.path}:{s.line + 1}: {finder.lines.line(s.path, s.line).strip()}" for s in sites)

    def list_dependencies(self, path: str) -> str:
        rel = self.confined(path)
        deps = self.ws.dependencies(rel)
        imports = [
            f"imports {module} (line {line}) -> {', '.join(targets) or 'outside'}"
            for line, module, targets in deps.imports
        ]
        importers = [f"imported by {importer}:{line}" for importer, line in deps.importers]
        return "\n".join(imports + importers) or "no imports and no importers"


async def run_loop(
    ws: Workspace, backend: Backend, messages: list[ChatMessage], *, max_steps: int = 8, max_tokens: int = 16000
) -> LoopResult:
    """Let the model call tools until it answers in plain text or a cap is reached."""
    tools = WorkspaceTools(ws)
    conversation = list(messages)
    result = LoopResult(answer="", stopped="steps", steps=0, tokens=0)
    while result.steps < max_steps:
        prompt_tokens = sum(backend.count_tokens(m.content) + 8 for m in conversation)
        if prompt_tokens + REPLY_TOKENS > max_tokens:
            result.stopped = "tokens"
            break
        result.steps += 1
        text, calls = await backend.complete_chat(
            ChatRequest(tuple(conversation), tools=TOOLS, max_tokens=REPLY_TOKENS)
        )
        result.tokens = prompt_tokens + backend.count_tokens(text)
        if not calls:
            result.answer, result.stopped = text, "answer"
            break
        conversation.append(ChatMessage("assistant", text, tool_calls=calls))
        for call in calls:
            output = tools.call(call)
            result.calls.append((call.name, output.split("\n", 1)[0]))
            conversation.append(ChatMessage("tool", output, tool_call_id=call.id))
    result.files_read = tools.files_read
    messages[:] = conversation
    return result
