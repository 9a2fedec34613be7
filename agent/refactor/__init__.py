"""Refactors: exact whole-repo rename and move, and the model-driven refactor with its bounded tool loop.

Each returns a WorkspaceChange and applies nothing; ``apply_to_disk`` is for the CLI.
"""

from .apply import apply_to_disk, unified_diff
from .errors import RefactorError
from .loop import LoopResult, WorkspaceTools, run_loop
from .model_refactor import refactor
from .move import move_definition
from .rename import rename
from .target import RenameTarget, prepare_rename

__all__ = [
    "LoopResult",
    "RefactorError",
    "RenameTarget",
    "WorkspaceTools",
    "apply_to_disk",
    "move_definition",
    "prepare_rename",
    "refactor",
    "rename",
    "run_loop",
    "unified_diff",
]
