"""Model review of a changed region: the model answers strict JSON, and only issues with a valid
line range inside the file survive (a fix with a bad range is dropped, its issue kept).

The reply must be one JSON object ``{"issues": [...]}``, alone or as the only fenced block; each
issue has 1-based inclusive ``start_line``/``end_line``, a ``message``, optionally a ``severity``
and a ``fix`` ``{"replacement": "..."}`` for those whole lines. Anything else is not an answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from engine import Backend, ChatMessage, ChatRequest

from ..edits import FileChange, Range, TextEdit, WorkspaceChange
from ..workspace import Workspace
from .finding import SEVERITIES, Finding

CONTEXT_LINES = 30
REVIEW_MAX_TOKENS = 1024
_FENCED = re.compile(r"^```(?:json)?\s*\n(?P<body>.*)\n```$", re.DOTALL)

SYSTEM = (
    "You review a changed region of a source file for real bugs: wrong names, wrong arguments, "
    "logic errors, unhandled cases. Report nothing about style. Reply with one JSON object and "
    'nothing else: {"issues": [{"start_line": N, "end_line": M, "severity": "error"|"warning"|'
    '"information"|"hint", "message": "...", "fix": {"replacement": "..."} or null}]}. Lines are the '
    "1-based numbers shown; a fix replaces lines start_line..end_line entirely. No issues: "
    '{"issues": []}.'
)


async def review(ws: Workspace, path: str, region: Range, backend: Backend) -> list[Finding]:
    """Issues the model finds in ``region`` of ``path`` (buffer-aware text)."""
    rel = ws.relative(path)
    text = ws.index.source_text(rel)
    if text is None:
        raise FileNotFoundError(f"not an indexed file of the workspace: {path}")
    lines = text.split("\n")
    if not 0 <= region.start.line <= region.end.line < len(lines):
        raise ValueError(f"range {region} is outside {path} (0..{len(lines) - 1})")
    prompt = review_prompt(rel, lines, region)
    request = ChatRequest(
        messages=(ChatMessage("system", SYSTEM), ChatMessage("user", prompt)), max_tokens=REVIEW_MAX_TOKENS
    )
    reply, _ = await backend.complete_chat(request)
    return parse_review(rel, lines, reply)


def review_prompt(path: str, lines: list[str], region: Range) -> str:
    first = max(region.start.line - CONTEXT_LINES, 0)
    last = min(region.end.line + CONTEXT_LINES, len(lines) - 1)
    numbered = "\n".join(f"{n + 1:>5} | {lines[n]}" for n in range(first, last + 1))
    return (
        f"File: {path}\nChanged region: lines {region.start.line + 1}-{region.end.line + 1}.\n"
        f"Code (lines {first + 1}-{last + 1}):\n{numbered}\n\nReview the changed region."
    )


def parse_review(path: str, lines: list[str], reply: str) -> list[Finding]:
    """The valid issues of a model reply; [] when the reply is not the JSON asked for."""
    body = reply.strip()
    fenced = _FENCED.match(body)
    if fenced:
        body = fenced.group("body")
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
        return []
    findings = []
    for issue in data["issues"]:
        finding = _issue(path, lines, issue)
        if finding is not None:
            findings.append(finding)
    return findings


def _issue(path: str, lines: list[str], issue: Any) -> Finding | None:
    if not isinstance(issue, dict):
        return None
    span = _line_range(lines, issue.get("start_line"), issue.get("end_line"))
    message = issue.get("message")
    if span is None or not isinstance(message, str) or not message.strip():
        return None
    severity = issue.get("severity", "warning")
    if severity not in SEVERITIES:
        severity = "warning"
    fix = _fix(path, lines, span, issue.get("fix"), message.strip())
    return Finding(path, span, severity, "review", message.strip(), fix)


def _line_range(lines: list[str], start: Any, end: Any) -> Range | None:
    """Whole lines ``start..end`` (1-based, inclusive) when they are integers inside the file."""
    if type(start) is not int or type(end) is not int or not 1 <= start <= end <= len(lines):
        return None
    return Range.of(start - 1, 0, end - 1, len(lines[end - 1]))


def _fix(path: str, lines: list[str], span: Range, fix: Any, message: str) -> WorkspaceChange | None:
    if not isinstance(fix, dict) or not isinstance(fix.get("replacement"), str):
        return None
    if "start_line" in fix or "end_line" in fix:
        own = _line_range(lines, fix.get("start_line"), fix.get("end_line"))
        if own is None:
            return None
        span = own
    edit = TextEdit(span, fix["replacement"].rstrip("\n"))
    return WorkspaceChange(f"Review: {message[:80]}", (FileChange(path, (edit,)),), needs_confirmation=True)
