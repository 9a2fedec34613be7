"""The use cases: complete, refactor, diagnose, explain, and the workspace they work on.

Others use only what is named here.
"""

from engine import BackendError, Tokenizer, TokenizerError, load_tokenizer
from indexer import BuildStats

from .complete import Completer, Completion, CompletionSettings, symbols_at
from .confine import OutsideWorkspace
from .context import STRATEGIES, Cursor, Pack, PackItem, PackRequest, UnknownStrategy
from .diagnose import Finding, diagnose, review
from .edits import FileChange, Position, Range, TextEdit, WorkspaceChange, apply_edits
from .engines import EngineSettings, backend_from_settings
from .evaluation import Case, Report, evaluate, load_cases
from .explain import (
    CodeLensInfo,
    FileExplanation,
    FileLenses,
    SymbolExplanation,
    code_lenses,
    explain_file,
    explain_symbol,
    hover_markdown,
    narrate,
)
from .navigate import Location, definition_at, references_at
from .privacy import exclusion_report, is_loopback_host, is_loopback_url
from .quiet_gc import QuietCollector, Settled, configure_gc, settle
from .refactor import (
    RefactorError,
    RenameTarget,
    apply_to_disk,
    move_definition,
    prepare_rename,
    refactor,
    rename,
    unified_diff,
)
from .workspace import FileDependencies, Workspace, WorkspaceSettings

__all__ = [
    "STRATEGIES",
    "BackendError",
    "BuildStats",
    "Case",
    "CodeLensInfo",
    "Completer",
    "Completion",
    "CompletionSettings",
    "Cursor",
    "EngineSettings",
    "FileChange",
    "FileDependencies",
    "FileExplanation",
    "FileLenses",
    "Finding",
    "Location",
    "OutsideWorkspace",
    "Pack",
    "PackItem",
    "PackRequest",
    "Position",
    "QuietCollector",
    "Range",
    "Report",
    "Settled",
    "SymbolExplanation",
    "TextEdit",
    "Tokenizer",
    "TokenizerError",
    "UnknownStrategy",
    "Workspace",
    "WorkspaceChange",
    "WorkspaceSettings",
    "apply_edits",
    "backend_from_settings",
    "code_lenses",
    "configure_gc",
    "definition_at",
    "diagnose",
    "evaluate",
    "exclusion_report",
    "explain_file",
    "explain_symbol",
    "hover_markdown",
    "is_loopback_host",
    "is_loopback_url",
    "load_cases",
    "load_tokenizer",
    "narrate",
    "references_at",
    "review",
    "settle",
    "symbols_at",
    "RefactorError",
    "RenameTarget",
    "apply_to_disk",
    "move_definition",
    "prepare_rename",
    "refactor",
    "rename",
    "unified_diff",
]
