"""The use cases: complete, refactor, diagnose, explain, and the workspace they work on.

Others use only what is named here.
"""

from engine import Tokenizer, TokenizerError, load_tokenizer
from indexer import BuildStats

from .complete import Completer, Completion, CompletionSettings
from .context import STRATEGIES, Cursor, Pack, PackItem, PackRequest, UnknownStrategy
from .edits import FileChange, Position, Range, TextEdit, WorkspaceChange, apply_edits
from .engines import EngineSettings, backend_from_settings
from .evaluation import Case, Report, evaluate, load_cases
from .workspace import FileDependencies, Workspace, WorkspaceSettings

__all__ = [
    "STRATEGIES",
    "BuildStats",
    "Case",
    "Completer",
    "Completion",
    "CompletionSettings",
    "Cursor",
    "EngineSettings",
    "FileChange",
    "FileDependencies",
    "Pack",
    "PackItem",
    "PackRequest",
    "Position",
    "Range",
    "Report",
    "TextEdit",
    "Tokenizer",
    "TokenizerError",
    "UnknownStrategy",
    "Workspace",
    "WorkspaceChange",
    "WorkspaceSettings",
    "apply_edits",
    "backend_from_settings",
    "evaluate",
    "load_cases",
    "load_tokenizer",
]
