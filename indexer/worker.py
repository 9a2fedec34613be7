"""Reading and extracting one file: the unit of work of the cold-index process pool.

Runs in worker processes, so it keeps one ``Extractor`` per language per process and returns
plain picklable results (references already packed into blobs, to keep pickling cheap).
"""

from __future__ import annotations

import hashlib
import os
import resource
from dataclasses import dataclass, field
from multiprocessing import util
from operator import attrgetter
from pathlib import Path

from .extract import Extractor
from .files import decode_source, is_binary, read_inside, too_deeply_nested
from .languages import LanguageSpec, language_for_path
from .model import ParsedFile
from .store import FLAG_DECODE_REPLACED, FLAG_PARSE_ERRORS, Store

WRITE_BATCH = 8  # extracted files a worker writes in one transaction (commits cost ~4% of a parse)
MAX_PENDING = 24  # extracted files a worker holds back while another process is writing

_extractors: dict[str, Extractor] = {}
_store: Store | None = None
_pending: list[FileResult] = []


def extractor_for(spec: LanguageSpec) -> Extractor:
    """This process's extractor for a language, built on first use."""
    extractor = _extractors.get(spec.name)
    if extractor is None:
        extractor = _extractors[spec.name] = Extractor(spec)
    return extractor


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(slots=True)
class FileResult:
    """The outcome for one file: extracted, unchanged since last time, or skipped with a reason."""

    path: str
    size: int = 0
    mtime_ns: int = 0
    hash: str = ""
    flags: int = 0
    parsed: ParsedFile | None = None
    references: dict[str, bytes] = field(default_factory=dict)
    skipped: str | None = None
    stored: bool = False  # a worker process wrote it into the index (or will, before it exits)
    worker_pid: int = 0  # the worker process that produced it (0: the calling process)
    worker_peak_rss_kb: int = 0  # that process's peak resident memory so far
    worker_cpu_seconds: float = 0.0  # that process's CPU time so far (user + system)

    def __reduce__(self) -> tuple:
        """Pickled as its field values rather than a slotted dataclass's state: half the cost, both
        ways, of the result each file sends from a worker to the parent."""
        return FileResult, _field_values(self)


_field_values = attrgetter(*FileResult.__slots__)


@dataclass(frozen=True, slots=True)
class FileTask:
    root: str
    path: str
    size: int
    mtime_ns: int
    known_hash: str | None = None
    max_size: int = 1_000_000


def run_task(task: FileTask) -> FileResult:
    """Read, hash, and (if the content changed) parse and extract one file. Never raises."""
    try:
        data = read_inside(Path(task.root), task.path)  # never a byte from outside the root
    except OSError as error:
        return FileResult(task.path, skipped=f"unreadable: {error.strerror or error}")
    if len(data) > task.max_size:
        return FileResult(task.path, skipped="too large")
    if is_binary(data):
        return FileResult(task.path, skipped="binary")
    if too_deeply_nested(data):
        return FileResult(task.path, skipped="too deeply nested")
    digest = content_hash(data)
    if digest == task.known_hash:
        return FileResult(task.path, len(data), task.mtime_ns, digest)
    return extract_bytes(task.path, data, task.mtime_ns, digest)


def extract_bytes(path: str, data: bytes, mtime_ns: int, digest: str, flags: int = 0) -> FileResult:
    """Parse and extract already-read bytes (disk or editor buffer)."""
    spec = language_for_path(path)
    if spec is None:
        return FileResult(path, skipped="unknown language")
    source, replaced = decode_source(data)
    extractor = extractor_for(spec)
    try:
        parsed, references = extractor.extract_packed(extractor.parse(source), source)
    except (RecursionError, MemoryError, ValueError) as error:
        return FileResult(path, skipped=f"parse failed: {type(error).__name__}")
    if replaced:
        flags |= FLAG_DECODE_REPLACED
    if parsed.error_count:
        flags |= FLAG_PARSE_ERRORS
    return FileResult(path, len(data), mtime_ns, digest, flags, parsed, references)


def open_worker_store(db_path: str) -> None:
    """Pool initializer: each worker writes what it extracts straight into the index.

    Writing where the results are made spares pickling them to the parent and keeps the parent
    (which would otherwise do all SQLite work) from competing with the workers for the cores.
    A worker writes ``WRITE_BATCH`` files per transaction and never sleeps on another's write
    lock: finding the database busy, it keeps its results and goes on extracting, writing them
    all with a later file (it waits only when ``MAX_PENDING`` are held, and when it exits: the
    pool must be closed and joined, not terminated, for the last of them to be written).
    """
    global _store
    _store = Store(Path(db_path), migrate=False)
    _store.defer_checkpoints()  # the build checkpoints once at its end
    util.Finalize(None, write_pending, exitpriority=10)


def run_and_store(task: FileTask) -> FileResult:
    """``run_task``, then write a changed file's extraction into the worker's store."""
    result = run_task(task)
    if result.parsed is not None and _store is not None:
        _pending.append(result)
        if len(_pending) >= WRITE_BATCH:
            _write_pending(wait=len(_pending) >= MAX_PENDING)
        result = FileResult(result.path, result.size, result.mtime_ns, result.hash, result.flags, stored=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.worker_pid = os.getpid()
    result.worker_peak_rss_kb = usage.ru_maxrss
    result.worker_cpu_seconds = usage.ru_utime + usage.ru_stime
    return result


def write_pending() -> None:
    """Write every extraction this worker still holds, waiting for the lock if need be."""
    if _pending:
        _write_pending(wait=True)


def _write_pending(wait: bool) -> None:
    assert _store is not None
    with _store.try_transaction(wait) as began:
        if not began:
            return
        for held in _pending:
            _store.put_file(held.path, held.hash, held.size, held.mtime_ns, held.flags, held.parsed, held.references)
    _pending.clear()
