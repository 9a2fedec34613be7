"""A workspace as the use cases see it: a root folder and its index.

The CLI and the language server reach the index through here, so that agent/ stays the only
layer that knows how use cases combine the indexer and the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine import Tokenizer
from indexer import (
    DEFAULT_MAX_FILE_SIZE,
    BuildStats,
    IgnoreRules,
    Index,
    IndexConfig,
    StoredDefinition,
    excluded_entries,
)

from .confine import confine, confine_uri
from .context import ContextPacker, Cursor, Pack, PackRequest
from .privacy import SENSITIVE_IGNORE_PATTERNS, is_sensitive_path


@dataclass(frozen=True)
class WorkspaceSettings:
    index_dir: Path | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    jobs: int | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileDependencies:
    """A file's place in the dependency graph: each import with its targets, and its importers."""

    path: str
    imports: list[tuple[int, str, tuple[str, ...]]]  # (line, module as written, resolved files)
    importers: list[tuple[str, int]]  # (importing file, line)


class Workspace:
    """Owns the index of one workspace root."""

    def __init__(self, root: str | Path, settings: WorkspaceSettings | None = None) -> None:
        settings = settings or WorkspaceSettings()
        self.root = Path(root).resolve()
        self._packers: dict[str, ContextPacker] = {}
        self._exclude = (*SENSITIVE_IGNORE_PATTERNS, *settings.exclude)  # credentials never enter the index
        self.index = Index(
            self.root,
            IndexConfig(
                index_dir=settings.index_dir,
                max_file_size=settings.max_file_size,
                jobs=settings.jobs,
                exclude=self._exclude,
            ),
        )

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build_index(self, progress=None) -> BuildStats:
        return self.index.build(progress)

    def symbols(self, query: str, limit: int = 50) -> list[StoredDefinition]:
        return self.index.search(query, limit)

    def dependencies(self, path: str) -> FileDependencies:
        rel = self.relative(path)
        grouped: dict[tuple[int, str], set[str]] = {}
        for row in self.index.imports_of(rel):  # a statement importing several names is one line
            grouped.setdefault((row.line, row.module), set()).update(row.targets)
        imports = [(line, module, tuple(sorted(targets))) for (line, module), targets in grouped.items()]
        importers = sorted({(row.path, row.line) for row in self.index.importers_of(rel)})
        return FileDependencies(rel, imports, importers)

    def stats(self) -> dict[str, object]:
        """Counts (files, definitions, references, imports), index size, and per-language rows."""
        return self.index.stats()

    @property
    def index_path(self) -> Path:
        return self.index.store.path

    def is_indexed(self, path: str) -> bool:
        return self.index.store.file(path) is not None

    def most_imported(self, limit: int) -> list[tuple[str, int]]:
        """Files imported by the most other files, with how many import each."""
        return self.index.store.most_imported(limit)

    def dependents(self, path: str) -> list[str]:
        return self.index.dependents(path)

    def packer(self, tokenizer: Tokenizer) -> ContextPacker:
        """The context packer for a tokenizer; kept, since its caches make later packs fast."""
        if tokenizer.name not in self._packers:
            self._packers[tokenizer.name] = ContextPacker(self.index, tokenizer)
        return self._packers[tokenizer.name]

    def pack(
        self,
        path: str,
        line: int,
        col: int,
        budget: int,
        tokenizer: Tokenizer,
        buffer: str | None = None,
        strategy: str = "default",
    ) -> Pack:
        """The context a completion at (line, col) of ``path`` would get.

        ``buffer`` is the editor's unsaved text of the file: it overrides the disk copy for every
        purpose, the index included, for the duration of the call.
        """
        rel = self.relative(path)
        if buffer is None:
            text = self.index.source_text(rel)
            if text is None:
                raise FileNotFoundError(f"not an indexed file of the workspace: {path}")
        else:
            text = buffer
            if not self.index.update(rel, buffer):
                raise ValueError(f"not a file wholerepo indexes: {path}")
        try:
            line_count = text.count("\n") + 1
            if not 1 <= line <= line_count:
                raise ValueError(f"line {line} is outside {path} (1..{line_count})")
            width = len(text.split("\n")[line - 1])
            if not 1 <= col <= width + 1:
                raise ValueError(f"column {col} is outside line {line} of {path} (1..{width + 1})")
            request = PackRequest(Cursor(rel, line, col, text), budget, strategy)
            return self.packer(tokenizer).pack(request)
        finally:
            if buffer is not None:
                self.index.close_buffer(rel)

    def relative(self, path: str) -> str:
        """A user-, client- or model-given path (absolute, or relative to the root) as a workspace-relative
        one; OutsideWorkspace (a ValueError) when it leaves the root, symlinks included."""
        return confine(self.root, path)

    def is_excluded(self, path: str) -> bool:
        """True for a file no prompt may carry: outside the root, or left out by .gitignore,
        .wholerepoignore, the exclude setting or a credential-like name."""
        try:
            return self.index.excluded(self.relative(path))
        except ValueError:
            return True

    def relative_uri(self, uri: str) -> str:
        """The workspace-relative path of a document URI; OutsideWorkspace for anything outside."""
        return confine_uri(self.root, uri)

    def excluded(self, limit: int = 1000) -> tuple[list[tuple[str, str]], bool]:
        """What never reaches the index or a prompt: (path, why) for files and folders kept out by
        .wholerepoignore, .gitignore, the exclude setting or a credential-like name; and whether the
        list was cut at ``limit``."""
        rules = IgnoreRules(self.root, self._exclude)
        found, cut = excluded_entries(self.root, rules, limit)
        return [(path, "credential file" if is_sensitive_path(path.rstrip("/")) else why) for path, why in found], cut
