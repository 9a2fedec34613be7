"""The index of one workspace: build it, keep it current, and answer questions about it.

Cold builds fan files out to a process pool and commit in batches, so an interrupted build keeps
what it finished and the next run resumes from content hashes. Editor buffers overlay the disk
(``update``), disk changes arrive through ``refresh`` (the watcher calls it), and import
resolution reruns whenever the set of files changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .buffers import Buffers
from .chunks import file_chunks, search_terms
from .files import (
    DEFAULT_MAX_FILE_SIZE,
    IGNORE_FILES,
    ROOT_IGNORE_FILES,
    IgnoreRules,
    read_inside,
    resolve_inside,
    too_deeply_nested,
    walk,
)
from .languages import language_for_path
from .model import Definition
from .names import CLASS_KINDS, all_member_definitions, member_definitions, resolve_name
from .pool import StartingPool, pool_context, start_fork_server
from .receivers import receiver_class, return_annotation
from .resolve import RepoLayout, importer_key, memo, resolve_import
from .store import (
    FLAG_OVERLAY,
    FLAG_PARSE_ERRORS,
    ImportRow,
    Occurrence,
    Store,
    StoredDefinition,
    import_from_row,
    pack_references,
)
from .watch import Watcher
from .worker import FileResult, FileTask, content_hash, extractor_for, open_worker_store, run_and_store, run_task

COMMIT_EVERY = 256
BULK_LOAD_MIN_FILES = 500  # below this, keeping the indexes up to date is cheaper
CHUNK_SYNC_BATCH = 32  # files per lexical-index transaction
MAX_QUERY_TERMS = 64
MAX_RECEIVER_DEPTH = 2  # `a = b.f()` with `b = c.g()`: how far a receiver's type is chased
CALLABLE_KINDS = frozenset({"function", "method"})
CONFIG_FILES = frozenset({"go.mod", "tsconfig.json", "jsconfig.json", "package.json", "Cargo.toml", "pyproject.toml"})

Progress = Callable[[int, int], None]


def import_targets(layout: RepoLayout, rows: list[tuple]) -> dict[int, tuple[str, ...]]:
    """Resolved target files of ``Store.imports_to_resolve`` rows, by import id.

    Most imports repeat one another: the same module and name from importers that the resolver
    does not tell apart (``importer_key``: the same directory, for most languages). Each such
    answer is resolved once per layout and kept in its cache.
    """
    answers: dict[tuple, tuple[str, ...]] = memo(layout, "import_targets", dict)
    targets = {}
    for row in rows:
        import_id, importer, language, module, _, name = row[:6]
        key = (language, importer_key(language)(importer), module, name)
        found = answers.get(key)
        if found is None:
            resolved = resolve_import(layout, importer, language, import_from_row(row[3:]))
            found = (resolved.names[name],) if name is not None and name in resolved.names else resolved.modules
            answers[key] = found
        targets[import_id] = found
    return targets


class EarlyImports:
    """A cold build's import resolution done while its workers still parse: the parent would
    otherwise idle through the build and then resolve everything alone, one core idle.

    Resolves the rows stored so far against the files the walk found; ``Index.build`` keeps the
    answers only if it ends with exactly those files (else it resolves everything again).
    """

    def __init__(self, layout: RepoLayout) -> None:
        self.layout = layout
        self.targets: dict[int, tuple[str, ...]] = {}
        self._seen = 0  # the highest import id resolved; writers commit one at a time, ids grow

    def catch_up(self, store: Store) -> None:
        rows = store.imports_to_resolve(after_id=self._seen)
        self.targets.update(import_targets(self.layout, rows))
        self._seen = max([self._seen, *(row[0] for row in rows)])


def default_index_dir(root: Path) -> Path:
    """A per-workspace folder in the user's cache directory, keyed by the root's absolute path."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("wholerepo")) / f"{root.resolve().name}-{digest}"


@dataclass
class BuildStats:
    files: int = 0
    parsed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    worker_peak_rss_kb: int = 0  # the largest peak of any indexing worker process
    worker_cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds of each worker, by pid


@dataclass(frozen=True)
class IndexConfig:
    index_dir: Path | None = None
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    exclude: tuple[str, ...] = ()  # extra gitignore-syntax patterns, relative to the root
    jobs: int | None = None  # worker processes for cold builds; None means every core


class Index:
    """One workspace's index, backed by ``index.sqlite`` in the index folder."""

    def __init__(self, root: str | Path, config: IndexConfig | None = None) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"workspace root is not a directory: {root}")
        self.config = config or IndexConfig()
        index_dir = self.config.index_dir or default_index_dir(self.root)
        self.store = Store(Path(index_dir) / "index.sqlite")
        self.store.set_meta("root", str(self.root))
        self._ignore = IgnoreRules(self.root, self.config.exclude)
        self._overlays: set[str] = set()
        self._buffers = Buffers()
        self._layout: RepoLayout | None = None
        self._write_lock = threading.RLock()
        self._chunk_syncs = 0  # syncs of the lexical chunk table, counted as they begin and end
        self._chunk_syncs_lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building --------------------------------------------------------------------------

    def build(self, progress: Progress | None = None) -> BuildStats:
        """Bring the index in line with the disk, reparsing only files whose content changed."""
        started = time.perf_counter()
        stored = self.store.files()
        if not stored and self._jobs() > 1:
            start_fork_server()  # a cold build will want workers: start their server during the walk
        report = walk(self.root, self.config.max_file_size, self._ignore)
        stats = BuildStats(files=len(report.files), skipped=Counter(report.skipped))
        on_disk = {source.path for source in report.files}
        tasks = []
        for source in report.files:
            row = stored.get(source.path)
            if source.path in self._overlays:
                continue
            if row and not row.flags & FLAG_OVERLAY and (row.size, row.mtime_ns) == (source.size, source.mtime_ns):
                stats.unchanged += 1
                continue
            known = row.hash if row and not row.flags & FLAG_OVERLAY else None
            tasks.append(
                FileTask(str(self.root), source.path, source.size, source.mtime_ns, known, self.config.max_file_size)
            )
        tasks.sort(key=lambda task: -task.size)  # big files first, so no straggler ends the run
        removed = [path for path in stored if path not in on_disk and path not in self._overlays]

        early = None
        if not stored and tasks:  # a cold build: resolve imports as their rows land
            early = EarlyImports(RepoLayout(files=frozenset(on_disk), read_text=self._read_config))
        with self._write_lock:
            if len(tasks) > BULK_LOAD_MIN_FILES and len(tasks) > len(stored) // 2:
                with self.store.bulk_load():
                    self._store_results(self._run(tasks, progress), stats, stored, early)
                    # before the load ends: the index by target is then built with one sort
                    resolved = self._resolve_early_answers(early)
            else:
                self._store_results(self._run(tasks, progress), stats, stored, early)
                resolved = self._resolve_early_answers(early)
            if removed:
                with self.store.transaction():
                    for path in removed:
                        self.store.delete_file(path)
                stats.removed = len(removed)
            if stats.parsed or stats.removed or self._layout is None:
                self.store.bump_generation()
                if not resolved:
                    self._resolve_all()
            if stats.parsed or stats.removed:
                self.store.checkpoint()  # fold the WAL in now rather than during a later keystroke
        stats.files = len(self.store.paths())
        stats.seconds = time.perf_counter() - started
        return stats

    def _jobs(self) -> int:
        return self.config.jobs or os.cpu_count() or 1

    def _run(self, tasks: list[FileTask], progress: Progress | None) -> Iterable[FileResult]:
        jobs = self._jobs()
        total = len(tasks)
        if progress:
            progress(0, total)
        if jobs <= 1 or total < 16:
            for done, result in enumerate(map(run_task, tasks), 1):
                if progress:
                    progress(done, total)
                yield result
            return
        pool = StartingPool(
            jobs, tasks, run_and_store, 4,
            initializer=open_worker_store, initargs=(str(self.store.path),), context=pool_context(),
        )  # fmt: skip
        finished = False
        try:
            for done, result in enumerate(pool.results(here=run_task), 1):
                if progress:
                    progress(done, total)
                yield result
            finished = True
        finally:
            pool.close(finished)

    def _store_results(
        self, results: Iterable[FileResult], stats: BuildStats, stored: dict, early: EarlyImports | None
    ) -> None:
        batch: list[FileResult] = []
        for result in results:
            batch.append(result)
            if len(batch) >= COMMIT_EVERY:
                self._commit(batch, stats, stored)
                batch = []
                if early is not None:
                    early.catch_up(self.store)
                # Workers leave checkpoints to this process (each ends in an fsync the writer waits
                # for), idle while they parse: folding the log in as it grows leaves the build's end
                # only what the last batch and the index build wrote to copy, not the whole load.
                self.store.checkpoint(passive=True)
        if batch:
            self._commit(batch, stats, stored)

    def _commit(self, batch: list[FileResult], stats: BuildStats, stored: dict) -> None:
        with self.store.transaction():
            for result in batch:
                if result.worker_pid:
                    stats.worker_peak_rss_kb = max(stats.worker_peak_rss_kb, result.worker_peak_rss_kb)
                    stats.worker_cpu[result.worker_pid] = result.worker_cpu_seconds
                if result.skipped:
                    stats.skipped[result.skipped.split(":")[0]] += 1
                    self.store.delete_file(result.path)
                elif result.stored:
                    stats.parsed += 1
                elif result.parsed is None:
                    stats.unchanged += 1
                    self.store.touch_file(stored[result.path].id, result.size, result.mtime_ns)
                else:
                    stats.parsed += 1
                    self.store.put_file(
                        result.path,
                        result.hash,
                        result.size,
                        result.mtime_ns,
                        result.flags,
                        result.parsed,
                        result.references,
                    )

    # -- keeping current -------------------------------------------------------------------

    def update(self, path: str, text: str) -> bool:
        """Index an editor buffer's unsaved text in place of the disk copy (nothing is written).

        Returns False when the path is outside the workspace, not a language we index, or the text is
        over the size cap or nested too deep to parse safely (its overlay, if any, is dropped).
        """
        rel = self._relative(path)
        spec = language_for_path(rel) if rel else None
        if rel is None or spec is None or self._ignore.excluded(rel):  # an ignored file stays out, open or not
            return False
        source = text.encode("utf-8", "replace")
        if len(source) > self.config.max_file_size or too_deeply_nested(source):
            # the size cap that keeps a file out keeps its buffer out: a 1.5 MB buffer of garbage Rust took
            # tree-sitter minutes with the GIL held, freezing the server (found by bench/fuzz_eval.py); so does
            # bracket nesting thousands deep
            self.close_buffer(rel)
            return False
        with self._write_lock:  # one writer at a time: editor updates and watcher refreshes interleave
            parsed = self._buffers.extract(rel, source, extractor_for(spec))
            flags = FLAG_OVERLAY | (FLAG_PARSE_ERRORS if parsed.error_count else 0)
            is_new = self.store.file(rel) is None
            with self.store.transaction():
                imports_changed = self.store.put_file(
                    rel, content_hash(source), len(source), 0, flags, parsed, pack_references(parsed.references)
                )
            self._overlays.add(rel)
            if imports_changed or self._layout is None:
                self._after_change([rel], files_changed=is_new)
        return True

    def close_buffer(self, path: str) -> None:
        """Drop a buffer's overlay: the index goes back to what is on disk."""
        rel = self._relative(path)
        with self._write_lock:
            if rel is None or rel not in self._overlays:
                return
            self._overlays.discard(rel)
            self._buffers.forget(rel)
            self.refresh([rel])

    def refresh(self, paths: Iterable[str]) -> None:
        """Re-read files from disk after they changed, appeared or vanished (open buffers win)."""
        changed: list[str] = []
        files_changed = False
        config_changed = False
        rules_changed = False
        with self._write_lock:
            for path in paths:
                rel = self._relative(path)
                if rel is None or rel in self._overlays:
                    continue
                name = rel.rsplit("/", 1)[-1]
                if name in IGNORE_FILES or name in ROOT_IGNORE_FILES:
                    rules_changed = True
                    continue
                config_changed |= name in CONFIG_FILES
                result = None if self._ignore.excluded(rel) else self._read_from_disk(rel)
                with self.store.transaction():
                    if result is None or result.skipped:
                        files_changed |= self.store.delete_file(rel)
                        continue
                    if result.parsed is None:
                        continue
                    files_changed |= self.store.file(rel) is None
                    self.store.put_file(
                        rel, result.hash, result.size, result.mtime_ns, result.flags, result.parsed, result.references
                    )
                changed.append(rel)
            if rules_changed:
                self._ignore = IgnoreRules(self.root, self.config.exclude)
                self.build()  # what the new rules include or exclude
            elif changed or files_changed or config_changed:
                self._after_change(changed, files_changed or config_changed)

    def watch(self) -> Watcher:
        """Start following disk changes in a background thread; ``stop()`` the result when done."""
        return Watcher(self.root, self.refresh, self._indexed_below).start()

    def _indexed_below(self, rel_dir: str) -> list[str]:
        prefix = rel_dir.rstrip("/") + "/"
        return [path for path in self.store.paths() if path.startswith(prefix)]

    def _read_from_disk(self, rel: str) -> FileResult | None:
        absolute = resolve_inside(self.root, rel)
        if absolute is None or language_for_path(rel) is None:
            return None
        try:
            info = absolute.stat()
        except OSError:
            return None
        if not absolute.is_file():
            return None
        row = self.store.file(rel)
        known = row.hash if row and not row.flags & FLAG_OVERLAY else None
        return run_task(FileTask(str(self.root), rel, info.st_size, info.st_mtime_ns, known, self.config.max_file_size))

    def _after_change(self, changed: list[str], files_changed: bool) -> None:
        if files_changed or self._layout is None:
            self._resolve_all()
        else:
            self._resolve(self.store.imports_to_resolve(changed))

    def _relative(self, path: str | Path) -> str | None:
        """A workspace-relative POSIX path, or None for anything outside the workspace."""
        candidate = Path(path)
        if candidate.is_absolute():
            try:
                rel = candidate.resolve().relative_to(self.root)
            except (ValueError, OSError, RuntimeError):
                return None
            text = rel.as_posix()
        else:
            text = candidate.as_posix()
        if text in ("", ".") or resolve_inside(self.root, text) is None:
            return None
        return text

    # -- import resolution -----------------------------------------------------------------

    def _resolve_all(self) -> None:
        self._layout = RepoLayout(files=frozenset(self.store.paths()), read_text=self._read_config)
        self._resolve(self.store.imports_to_resolve())

    def _resolve(self, rows: list) -> None:
        assert self._layout is not None
        targets = import_targets(self._layout, rows)
        with self.store.transaction():
            self.store.set_import_targets(targets)

    def _resolve_early_answers(self, early: EarlyImports | None) -> bool:
        """Store what ``early`` resolved while the workers ran, if it still holds: the build ended
        with exactly the files the walk promised, and every import row was seen. False otherwise,
        or without ``early`` (a build that is not cold)."""
        if early is None or frozenset(self.store.paths()) != early.layout.files:
            return False  # a file was skipped or vanished: its importers may resolve elsewhere
        early.catch_up(self.store)
        if early.targets.keys() != self.store.import_ids():
            return False
        self._layout = early.layout
        with self.store.transaction():
            self.store.set_import_targets(early.targets, fresh=True)  # a cold build's rows have none yet
        return True

    def _read_config(self, rel: str) -> str | None:
        data = self._read_disk(rel)
        return data.decode("utf-8", "replace") if data is not None else None

    def _read_disk(self, rel: str) -> bytes | None:
        """A workspace file's bytes on disk; None when missing, unreadable or outside the root."""
        try:
            return read_inside(self.root, rel)
        except OSError:
            return None

    # -- questions -------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[StoredDefinition]:
        """Definitions whose name matches ``query`` (exact, then prefix, then substring)."""
        return self.store.search_definitions(query, limit)

    def definitions(self, path: str) -> list[StoredDefinition]:
        return self.store.definitions_in(path)

    def imports_of(self, path: str) -> list[ImportRow]:
        """What ``path`` imports, statement by statement, with the files each resolves to."""
        return self.store.imports_of(path)

    def importers_of(self, path: str) -> list[ImportRow]:
        """Import statements in other files that resolve to ``path``."""
        return [row for row in self.store.imports_into(path) if row.path != path]

    def dependencies(self, path: str) -> list[str]:
        """Files that ``path`` imports."""
        return sorted({t for row in self.imports_of(path) for t in row.targets if t != path})

    def dependents(self, path: str) -> list[str]:
        """Files that import ``path``."""
        return sorted({row.path for row in self.importers_of(path)})

    def resolve(self, path: str, name: str) -> list[StoredDefinition]:
        """The definitions ``name`` (possibly dotted, ``mod.func``) denotes as seen from ``path``."""
        return resolve_name(self.store, path, name)

    def receiver_classes(
        self, path: str, line: int, receiver: str, text: str | None = None, _depth: int = 0
    ) -> list[StoredDefinition]:
        """The classes ``receiver`` (``v`` or ``self.attr``) is an instance of at ``line`` of ``path``:
        from a constructor call, an annotation, or the return annotation of the function or method
        whose call bound it (``response = client.send(...)`` with ``def send(...) -> Response``).

        ``text`` is the editor's buffer when it differs from what the index holds.
        """
        spec = language_for_path(path)
        source = text.encode("utf-8", "replace") if text is not None else self._source(path)
        if spec is None or source is None or _depth > MAX_RECEIVER_DEPTH:
            return []
        name = receiver_class(extractor_for(spec), source, line, receiver)
        if name is None:
            return []
        found = self.resolve(path, name)
        if not found and "." in name:  # `v.method(...)` with v itself a typed local
            head, _, rest = name.partition(".")
            owners = self.receiver_classes(path, line, head, text, _depth + 1)
            for part in rest.split("."):
                owners = [member for owner in owners for member in self.members(owner, part)]
            found = owners
        classes = [d for d in found if d.definition.kind in CLASS_KINDS]
        for function in (d for d in found if d.definition.kind in CALLABLE_KINDS):
            returned = return_annotation(function.definition.signature)
            if returned:
                classes += [d for d in self.resolve(function.path, returned) if d.definition.kind in CLASS_KINDS]
        return classes

    def members(self, definition: StoredDefinition, name: str) -> list[StoredDefinition]:
        """``name`` in a class (through its bases) or a module."""
        return member_definitions(self.store, definition, name)

    def reference_edges(self, max_definers: int = 8) -> list[tuple[str, str, str, int]]:
        """File-to-file edges of the symbol reference graph: (user, definer, name, occurrences)."""
        return self.store.reference_edges(max_definers)

    @property
    def generation(self) -> int:
        """Changes whenever any file's index rows change."""
        return self.store.generation

    def generation_excluding(self, path: str) -> int:
        """Changes whenever a file other than ``path`` changes."""
        return self.store.generation_excluding(path)

    # -- lexical search --------------------------------------------------------------------

    def stale_chunk_count(self) -> int:
        """Files whose search chunks are missing or out of date (0 when lexical search is current)."""
        return len(self.store.stale_chunk_files())

    @property
    def chunk_syncs(self) -> int:
        """How many syncs of the chunk table have begun or ended: anything scored over the chunks
        (BM25 statistics) holds while this and the set of files stand still."""
        return self._chunk_syncs

    def _count_chunk_sync(self) -> None:
        with self._chunk_syncs_lock:
            self._chunk_syncs += 1

    def sync_chunks(self, should_stop: Callable[[], bool] | None = None) -> int:
        """Bring the lexical search chunks up to date, a batch of files per transaction so editor
        updates are never held up long. Returns how many files are still stale."""
        self._count_chunk_sync()
        try:
            stale = self.store.stale_chunk_files()
            while stale and not (should_stop and should_stop()):
                batch, stale = stale[:CHUNK_SYNC_BATCH], stale[CHUNK_SYNC_BATCH:]
                prepared = []
                for path, file_hash in batch:
                    lines = (self.source_text(path) or "").split("\n")
                    definitions = [stored.definition for stored in self.store.definitions_in(path)]
                    prepared.append((path, file_hash, file_chunks(definitions, lines)))
                with self._write_lock, self.store.transaction():
                    for path, file_hash, chunks in prepared:
                        self.store.put_chunks(path, file_hash, chunks)
            return len(stale)
        finally:
            self._count_chunk_sync()  # once more when done: what was scored during the sync is not kept

    def search_code(
        self, text: str, limit: int = 50, exclude_path: str | None = None, should_stop=None
    ) -> list[tuple[str, int, int, float]]:
        """Chunks lexically similar to ``text`` by BM25: (path, start_line, end_line, score), best first.

        Raises QueryInterrupted when ``should_stop`` (polled while SQLite works) says so."""
        terms = list(dict.fromkeys(search_terms(text).split()))[:MAX_QUERY_TERMS]
        if not terms:
            return []
        query = " OR ".join(f'"{term}"' for term in terms)
        return self.store.search_chunks(query, limit, exclude_path, should_stop)

    def all_members(self, definition: StoredDefinition) -> list[StoredDefinition]:
        """Everything defined directly in a class (then in its bases, nearest first) or a module."""
        return all_member_definitions(self.store, definition)

    def reference_totals(self, names: Iterable[str], exclude_path: str | None = None) -> dict[str, int]:
        """How often each name is referenced in the workspace (in every file but ``exclude_path``)."""
        return self.store.reference_totals(names, exclude_path)

    def file_reference_counts(self, path: str, names: Iterable[str]) -> dict[str, int]:
        """How often each name is referenced in one file (its buffer when one is open)."""
        return self.store.file_reference_counts(path, names)

    def source_text(self, path: str) -> str | None:
        """A file's text as the index sees it: the editor's buffer when one is open, else the disk."""
        data = self._source(path)
        return None if data is None else data.decode("utf-8", "replace")

    def excluded(self, path: str) -> bool:
        """Whether the ignore rules (.gitignore, .wholerepoignore, the exclude setting) leave a file out."""
        return self._ignore.excluded(path)

    def _source(self, rel: str) -> bytes | None:
        if self._ignore.excluded(rel):  # what the index leaves out, it never hands out either
            return None
        buffered = self._buffers.source(rel)
        return buffered if buffered is not None else self._read_disk(rel)

    def references(self, name: str, paths: Iterable[str] | None = None) -> list[Occurrence]:
        return self.store.references_to(name, paths)

    def references_to(self, definition: StoredDefinition) -> list[Occurrence]:
        """Occurrences of a definition's name in files where that name resolves to it."""
        found: list[Occurrence] = []
        target = (definition.path, definition.ord)
        verdicts: dict[str, bool] = {}
        for occurrence in self.store.references_to(definition.definition.name):
            if occurrence.path not in verdicts:
                resolved = self.resolve(occurrence.path, definition.definition.name)
                verdicts[occurrence.path] = any((d.path, d.ord) == target for d in resolved)
            if verdicts[occurrence.path] or occurrence.path == definition.path:
                found.append(occurrence)
        return found

    def stats(self) -> dict[str, object]:
        totals = self.store.totals()
        size = sum(p.stat().st_size for p in self.store.path.parent.glob(self.store.path.name + "*") if p.exists())
        return {**totals, "index_bytes": size, "languages": self.store.counts_by_language()}

    def definition_at(self, path: str, line: int) -> Definition | None:
        """The innermost definition spanning a 1-based line of a file."""
        inner = None
        for stored in self.store.definitions_in(path):
            d = stored.definition
            if d.start_line <= line <= d.end_line and (inner is None or d.start_line >= inner.start_line):
                inner = d
        return inner
