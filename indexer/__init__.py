"""The workspace index: tree-sitter extraction, import resolution, a SQLite store, file watching.

Others use only what is named here.
"""

from .files import DEFAULT_MAX_FILE_SIZE, IgnoreRules, OutsideRoot, excluded_entries, read_inside, resolve_inside
from .index import BuildStats, Index, IndexConfig, default_index_dir
from .languages import all_languages, language_for_path
from .model import Definition, Import, ImportedName
from .store import ImportRow, Occurrence, QueryInterrupted, StoredDefinition
from .syntax import parse_source, syntax_error_count
from .watch import Watcher

__all__ = [
    "QueryInterrupted",
    "DEFAULT_MAX_FILE_SIZE",
    "BuildStats",
    "Definition",
    "IgnoreRules",
    "Import",
    "ImportRow",
    "ImportedName",
    "Index",
    "IndexConfig",
    "Occurrence",
    "OutsideRoot",
    "StoredDefinition",
    "Watcher",
    "all_languages",
    "default_index_dir",
    "excluded_entries",
    "language_for_path",
    "parse_source",
    "read_inside",
    "resolve_inside",
    "syntax_error_count",
]
