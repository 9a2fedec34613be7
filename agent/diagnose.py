"""Diagnostics use case: static cross-file checks and the model review (agent/diagnostics/)."""

from .diagnostics import SEVERITIES, Finding, ModuleFacts, diagnose, parse_review, review

__all__ = ["SEVERITIES", "Finding", "ModuleFacts", "diagnose", "parse_review", "review"]
