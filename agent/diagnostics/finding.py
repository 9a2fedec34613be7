"""A diagnostic as plain data: where, how bad, what, and optionally the edit that fixes it."""

from __future__ import annotations

from dataclasses import dataclass

from ..edits import Range, WorkspaceChange

SEVERITIES = ("error", "warning", "information", "hint")


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the workspace root
    range: Range
    severity: str  # one of SEVERITIES
    code: str  # stable identifier of the check, e.g. "unresolved-import"
    message: str
    fix: WorkspaceChange | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
