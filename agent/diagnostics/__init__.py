"""Static cross-file checks, one module per check, and the model review of a changed region.

Each check yields ``Finding``s for one file; ``diagnose`` runs them all over the buffer-aware text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..navigate import SourceLines
from ..workspace import Workspace
from .attributes import check_module_attributes
from .calls import check_calls
from .context import FileContext
from .finding import SEVERITIES, Finding
from .imports import check_imports
from .modules import ModuleFacts, is_python, is_script
from .review import parse_review, review

Check = Callable[[FileContext], Iterator[Finding]]
CHECKS: tuple[Check, ...] = (check_imports, check_module_attributes, check_calls)


def diagnose(ws: Workspace, path: str, facts: ModuleFacts | None = None) -> list[Finding]:
    """Every static finding for one workspace file, in position order ([] for other languages).

    ``facts`` may be shared between calls of one batch over an unchanged index (it caches what
    modules define).
    """
    rel = ws.relative(path)
    if not (is_python(rel) or is_script(rel)) or not ws.is_indexed(rel):
        return []
    lines = facts.lines if facts is not None else SourceLines(ws)
    ctx = FileContext(ws, rel, lines, facts or ModuleFacts(ws, lines), ws.index.imports_of(rel))
    findings = [finding for check in CHECKS for finding in check(ctx)]
    return sorted(findings, key=lambda f: (f.range.start, f.code))


__all__ = ["CHECKS", "SEVERITIES", "Finding", "ModuleFacts", "diagnose", "parse_review", "review"]
