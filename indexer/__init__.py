"""The workspace index: tree-sitter extraction, import resolution, a SQLite store, file watching.

Others use only what is named here.
"""

from .files import DEFAULT_MAX_FILE_SIZE
from .index import BuildStats, Index, IndexConfig, default_index_dir
from .languages import all_languages, language_for_path
from .model import Definition, Import, ImportedName
from .store import ImportRow, Occurrence, StoredDefinition
from .syntax import parse_source, syntax_error_count
from .watch import Watcher

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "BuildStats",
    "Definition",
    "Import",
    "ImportRow",
    "ImportedName",
    "Index",
    "IndexConfig",
    "Occurrence",
    "StoredDefinition",
    "Watcher",
    "all_languages",
    "default_index_dir",
    "language_for_path",
    "parse_source",
    "syntax_error_count",
]
