"""The SQLite index: the schema and every SQL statement of the project live here.

One file in WAL mode. References are stored one row per (name, file) with their positions packed
into a blob, which keeps the table a few hundred thousand rows for a large repository instead of
millions. A schema version mismatch drops and rebuilds everything.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from .model import Definition, Import, ImportedName, ParsedFile, innermost_definition

SCHEMA_VERSION = 7

# A reference row's id is its file's id times this plus its ordinal in the file: a file's rows are
# one id range, found without an index by file (whose upkeep cost a cold build ~4% of a parse).
REFS_PER_FILE = 1 << 32

# 16 KB pages rather than 4 KB: a file's rows (definitions with their docs, reference blobs) go in
# with a quarter of the page splits and overflow pages; a cold build's SQLite time drops by a third.
PAGE_SIZE = 16_384

BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another connection's write transaction
AUTOCHECKPOINT_PAGES = 1000  # SQLite's default: a commit leaving the log this long copies it in

FLAG_DECODE_REPLACED = 1  # undecodable bytes were replaced while reading
FLAG_OVERLAY = 2  # the row reflects an editor buffer, not the disk
FLAG_PARSE_ERRORS = 4  # tree-sitter reported syntax errors
# A reference row's occurrences: its positions are (line, col) pairs of 32-bit integers. Worked out, not
# stored: a column of its own cost each row of a cold build one more bind (3-4% of its writes).
OCCURRENCES = "length(positions) / 8"
PROGRESS_STEPS = 20_000  # SQLite virtual-machine steps between polls of a search's should_stop (well under 1 ms)


class QueryInterrupted(Exception):
    """A search abandoned because its caller's time ran out."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    language TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    line_count INTEGER NOT NULL,
    flags INTEGER NOT NULL DEFAULT 0,
    exports TEXT
);
CREATE TABLE IF NOT EXISTS definitions (
    file_id INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    name TEXT NOT NULL,
    qualified_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    name_line INTEGER NOT NULL,
    name_col INTEGER NOT NULL,
    signature TEXT NOT NULL,
    doc TEXT NOT NULL,
    parent INTEGER NOT NULL,
    PRIMARY KEY (file_id, ord)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS refs (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    positions BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    line INTEGER NOT NULL,
    module TEXT NOT NULL,
    name TEXT,
    alias TEXT,
    reexport INTEGER NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(terms, tokenize="unicode61 tokenchars '_'");
CREATE TABLE IF NOT EXISTS chunk_spans (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunk_files (file_id INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS import_targets (
    import_id INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    PRIMARY KEY (import_id, target_id)
) WITHOUT ROWID;
"""

# Secondary indexes, created after the tables. A bulk load drops the ones keyed by name (random
# B-tree inserts for every row) and builds each once at the end with one sort; the per-file ones
# stay, since replacing a file's rows needs them.
SECONDARY_INDEXES = {
    "definitions_by_name": "definitions (name)",
    "refs_by_name": "refs (name)",
    "imports_by_file": "imports (file_id)",
    "import_targets_by_target": "import_targets (target_id)",
    "chunk_spans_by_file": "chunk_spans (file_id)",
}
DROPPED_DURING_BULK_LOAD = ("definitions_by_name", "refs_by_name", "import_targets_by_target")


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    path: str
    language: str
    hash: str
    size: int
    mtime_ns: int
    line_count: int
    flags: int
    exports: tuple[str, ...] | None


@dataclass(slots=True, unsafe_hash=True)
class StoredDefinition:
    """A definition as stored, with the file it lives in.

    Treated as immutable and hashed by value, but not ``frozen`` (as ``Definition``): the packer
    builds one per definition of a file on each keystroke, and frozen's ``__init__`` costs more."""

    path: str
    ord: int
    definition: Definition


@dataclass(frozen=True, slots=True)
class ImportRow:
    id: int
    path: str
    line: int
    module: str
    name: str | None
    alias: str | None
    reexport: bool
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One identifier occurrence: 1-based line, 0-based UTF-8 byte column, and the ``ord`` of the
    innermost definition around it in that file (-1 at module level)."""

    path: str
    line: int
    col: int
    enclosing: int


class Store:
    """All reads and writes of one index database. Safe to share between threads."""

    def __init__(self, db_path: Path, migrate: bool = True) -> None:
        """Open (creating if needed) the index; ``migrate=False`` for extra writer processes that
        must leave the schema, and the secondary indexes a bulk load dropped, as they are."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.path = db_path
        self._lock = threading.RLock()
        self._generation = 0
        self._unattributed = 0  # the last generation bumped by writes of unknown paths
        self._latest_writes: list[tuple[int, str]] = []
        self._db = sqlite3.connect(
            db_path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
        )
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect only while the file is empty
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.execute("PRAGMA cache_size=-65536")
        if migrate:
            self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                tables = [
                    row[0]
                    for row in self._db.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                    )
                ]
                for table in tables:
                    self._db.execute(f'DROP TABLE IF EXISTS "{table}"')
                self._db.executescript(SCHEMA)
                self._create_indexes()
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            else:
                self._create_indexes()  # an interrupted bulk load leaves them missing

    def _create_indexes(self) -> None:
        for name, target in SECONDARY_INDEXES.items():
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Drop the name indexes while many rows go in; rebuild them once at the end.

        Commits during the load leave the log to the loader's ``checkpoint(passive=True)`` calls
        and the one ``checkpoint`` after it: an automatic one would copy the whole log in the
        middle of the index build, with the workers idle."""
        with self._lock:
            for name in DROPPED_DURING_BULK_LOAD:
                self._db.execute(f"DROP INDEX IF EXISTS {name}")
            self.defer_checkpoints()
            try:
                yield
            finally:
                # The index sorts spill to temporary files rather than to in-memory journals: a third
                # less CPU for the standard library's name indexes, all built while the workers idle.
                self._db.execute("PRAGMA temp_store=FILE")
                try:
                    self._create_indexes()
                finally:
                    self._db.execute("PRAGMA temp_store=MEMORY")
                    self._db.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; everything inside commits together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def try_transaction(self, wait: bool = False) -> Iterator[bool]:
        """A write transaction (``True``); unless ``wait``, none (``False``, at once) while another
        connection is writing, so the caller can do other work instead of sleeping on the lock."""
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS if wait else 0}")
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                began = False
            else:
                began = True
            finally:
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if not began:
                yield False
                return
            try:
                yield True
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- files -----------------------------------------------------------------------------

    def files(self) -> dict[str, FileRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, path, language, hash, size, mtime_ns, line_count, flags, exports FROM files"
            ).fetchall()
        return {row[1]: _file_row(row) for row in rows}

    def file(self, path: str) -> FileRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, path, language, hash, size, mtime_ns, line_count, flags, exports FROM files WHERE path=?",
                (path,),
            ).fetchone()
        return _file_row(row) if row else None

    def paths(self) -> list[str]:
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT path FROM files ORDER BY path")]

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        """Record a new mtime for a file whose content hash did not change."""
        self._db.execute("UPDATE files SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, file_id))

    @property
    def generation(self) -> int:
        """Bumped by every file written or deleted: a cheap "has anything changed" for caches."""
        return self._generation

    def bump_generation(self) -> None:
        """For writes made by other connections (the cold build's worker processes)."""
        self._generation += 1
        self._unattributed = self._generation

    def generation_excluding(self, path: str) -> int:
        """The generation as if ``path`` had never been written: what a cache of everything but
        that file (the one being typed in) depends on."""
        others = [generation for generation, written in self._latest_writes if written != path]
        return max([self._unattributed, *others[:1]])

    def _wrote(self, path: str) -> None:
        self._generation += 1
        latest = [(self._generation, path)] + [entry for entry in self._latest_writes if entry[1] != path]
        self._latest_writes = latest[:2]  # the newest write of two distinct paths is all that is asked

    def put_file(
        self,
        path: str,
        content_hash: str,
        size: int,
        mtime_ns: int,
        flags: int,
        parsed: ParsedFile,
        references: dict[str, bytes],
    ) -> bool:
        """Insert or replace one file and everything extracted from it. Call inside a transaction.

        ``references`` maps each name to its occurrences packed as ``array('i')`` bytes of
        ``(line, col)`` pairs. Returns whether the file's import rows changed (they, and their
        resolved targets, are kept when not: most keystrokes leave the imports alone).
        """
        db = self._db
        self._wrote(path)
        exports = "\n".join(parsed.exports) if parsed.exports is not None else None
        values = (parsed.language, content_hash, size, mtime_ns, parsed.line_count, flags, exports)
        imports = [
            (imp.line, imp.module, name, alias, int(imp.reexport))
            for imp in parsed.imports
            for name, alias in _import_rows(imp)
        ]
        existing = db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
        if existing is None:
            file_id = db.execute(
                "INSERT INTO files (path, language, hash, size, mtime_ns, line_count, flags, exports)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (path, *values),
            ).lastrowid
            imports_changed = True
        else:
            file_id = existing[0]
            db.execute(
                "UPDATE files SET language=?, hash=?, size=?, mtime_ns=?, line_count=?, flags=?, exports=? WHERE id=?",
                (*values, file_id),
            )
            stored = db.execute(
                "SELECT line, module, name, alias, reexport FROM imports WHERE file_id=? ORDER BY id", (file_id,)
            ).fetchall()
            imports_changed = stored != imports
            if imports_changed:
                self._clear_imports(file_id)
        self._write_definitions(file_id, parsed.definitions, fresh=existing is None)
        self._write_references(file_id, references, fresh=existing is None)
        if imports_changed:
            db.executemany(
                "INSERT INTO imports (file_id, line, module, name, alias, reexport) VALUES (?, ?, ?, ?, ?, ?)",
                [(file_id, *row) for row in imports],
            )
        return imports_changed

    def _write_definitions(self, file_id: int, definitions: list[Definition], fresh: bool) -> None:
        """Store a file's definitions; for a file already stored, only rows that changed are written."""
        rows = [
            (file_id, ord_, d.name, d.qualified_name, d.kind, d.start_line, d.end_line, d.name_line, d.name_col,
             d.signature, d.doc, d.parent)
            for ord_, d in enumerate(definitions)
        ]  # fmt: skip
        if not fresh:
            old = set(self._db.execute("SELECT * FROM definitions WHERE file_id=?", (file_id,)))
            rows = [row for row in rows if row not in old]
            self._db.execute("DELETE FROM definitions WHERE file_id=? AND ord>=?", (file_id, len(definitions)))
        self._db.executemany("INSERT OR REPLACE INTO definitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _write_references(self, file_id: int, references: dict[str, bytes], fresh: bool) -> None:
        """Store a file's references; for a file already stored, only names whose occurrences changed
        are written, which spares the name index most of an editor keystroke's churn."""
        first, end = _ref_ids(file_id)
        old: dict[str, tuple[int, bytes]] = {}
        if not fresh:
            old = {
                name: (rowid, blob)
                for rowid, name, blob in self._db.execute(
                    "SELECT id, name, positions FROM refs WHERE id >= ? AND id < ?", (first, end)
                )
            }
            new_names = sum(1 for name in references if name not in old)
            if old and max(rowid for rowid, _ in old.values()) + new_names >= end:  # ids used up: renumber
                self._db.execute("DELETE FROM refs WHERE id >= ? AND id < ?", (first, end))
                old = {}
            else:
                first = max((rowid + 1 for rowid, _ in old.values()), default=first)
            self._db.executemany(
                "DELETE FROM refs WHERE id=?", [(rowid,) for name, (rowid, _) in old.items() if name not in references]
            )
            self._db.executemany(
                "UPDATE refs SET positions=? WHERE id=?",
                [
                    (bytearray(blob), old[name][0])
                    for name, blob in references.items()
                    if name in old and old[name][1] != blob
                ],
            )
        new = {name: blob for name, blob in references.items() if name not in old} if old else references
        # The rows are zipped in C rather than built in Python (5% of a cold build's writes), and the blobs bound
        # as bytearray: sqlite3 binds that type as it is, but runs each bytes value through its adapter lookup
        # (two failed attribute lookups, ~3,000 instructions: 8% of the writes).
        self._db.executemany(
            "INSERT INTO refs VALUES (?, ?, ?, ?)",
            zip(range(first, first + len(new)), repeat(file_id), new, map(bytearray, new.values())),
        )

    def _clear_contents(self, file_id: int) -> None:
        self._db.execute("DELETE FROM definitions WHERE file_id=?", (file_id,))
        self._db.execute("DELETE FROM refs WHERE id >= ? AND id < ?", _ref_ids(file_id))
        self._clear_imports(file_id)
        self._clear_chunks(file_id)

    def _clear_chunks(self, file_id: int) -> None:
        self._db.execute("DELETE FROM chunks WHERE rowid IN (SELECT id FROM chunk_spans WHERE file_id=?)", (file_id,))
        self._db.execute("DELETE FROM chunk_spans WHERE file_id=?", (file_id,))
        self._db.execute("DELETE FROM chunk_files WHERE file_id=?", (file_id,))

    def _clear_imports(self, file_id: int) -> None:
        db = self._db
        db.execute(
            "DELETE FROM import_targets WHERE import_id IN (SELECT id FROM imports WHERE file_id=?)",
            (file_id,),
        )
        db.execute("DELETE FROM imports WHERE file_id=?", (file_id,))

    def delete_file(self, path: str) -> bool:
        """Forget a file and what pointed at it. Call inside a transaction."""
        row = self._db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
        if row is None:
            return False
        self._wrote(path)
        self._clear_contents(row[0])
        self._db.execute("DELETE FROM import_targets WHERE target_id=?", (row[0],))
        self._db.execute("DELETE FROM files WHERE id=?", (row[0],))
        return True

    # -- imports and the dependency graph --------------------------------------------------

    def imports_to_resolve(
        self, paths: Iterable[str] | None = None, after_id: int = 0
    ) -> list[tuple]:
        """``(import_id, importer path, language, module, line, name, alias, reexport)`` for every
        stored import row (of the given files; or, without them, every row whose id is above
        ``after_id``). Plain rows: most imports repeat another's answer and never need their
        ``Import``, which ``import_from_row(row[3:])`` makes."""
        sql = (
            "SELECT i.id, f.path, f.language, i.module, i.line, i.name, i.alias, i.reexport"
            " FROM imports i JOIN files f ON f.id = i.file_id"
        )
        with self._lock:
            if paths is None:
                rows = self._db.execute(sql + " WHERE i.id > ?", (after_id,)).fetchall()
            else:
                rows = []
                for path in paths:
                    rows += self._db.execute(sql + " WHERE f.path=?", (path,)).fetchall()
        return rows

    def import_ids(self) -> set[int]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM imports")}

    def set_import_targets(self, targets: dict[int, Iterable[str]], fresh: bool = False) -> None:
        """Replace the resolved targets of the given import rows (``fresh``: rows that have none
        yet, so there is nothing to clear). Call inside a transaction."""
        wanted = {path for paths in targets.values() for path in paths}
        if len(wanted) > 500:
            ids = {path: file_id for file_id, path in self._db.execute("SELECT id, path FROM files")}
        else:
            ids = {}
            for path in wanted:
                row = self._db.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
                if row:
                    ids[path] = row[0]
        if not fresh:
            self._db.executemany(
                "DELETE FROM import_targets WHERE import_id=?", [(import_id,) for import_id in targets]
            )
        self._db.executemany(
            "INSERT OR IGNORE INTO import_targets VALUES (?, ?)",
            [(import_id, ids[path]) for import_id, paths in targets.items() for path in paths if path in ids],
        )

    def imports_of(self, path: str) -> list[ImportRow]:
        """Import rows of a file in source order, each with its resolved target files."""
        return self._import_rows("WHERE f.path=?", (path,))

    def imports_into(self, path: str) -> list[ImportRow]:
        """Import rows anywhere that resolve to ``path``."""
        return self._import_rows(
            "WHERE i.id IN (SELECT t.import_id FROM import_targets t JOIN files g ON g.id = t.target_id"
            " WHERE g.path=?)",
            (path,),
        )

    def _import_rows(self, where: str, args: tuple) -> list[ImportRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT i.id, f.path, i.line, i.module, i.name, i.alias, i.reexport,"
                " (SELECT group_concat(g.path, char(10)) FROM import_targets t JOIN files g"
                "  ON g.id = t.target_id WHERE t.import_id = i.id)"
                f" FROM imports i JOIN files f ON f.id = i.file_id {where} ORDER BY f.path, i.id",
                args,
            ).fetchall()
        return [
            ImportRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), tuple(sorted(r[7].split("\n"))) if r[7] else ())
            for r in rows
        ]

    def dependency_edges(self) -> list[tuple[str, str]]:
        """Every (importer, imported) pair of distinct files."""
        with self._lock:
            return self._db.execute(
                "SELECT DISTINCT f.path, g.path FROM imports i JOIN import_targets t ON t.import_id = i.id"
                " JOIN files f ON f.id = i.file_id JOIN files g ON g.id = t.target_id"
                " WHERE f.id != g.id ORDER BY f.path, g.path"
            ).fetchall()

    def most_imported(self, limit: int) -> list[tuple[str, int]]:
        """Files imported by the most other files."""
        with self._lock:
            return self._db.execute(
                "SELECT g.path, COUNT(DISTINCT i.file_id) AS n FROM import_targets t"
                " JOIN imports i ON i.id = t.import_id JOIN files g ON g.id = t.target_id"
                " WHERE i.file_id != g.id GROUP BY g.path ORDER BY n DESC, g.path LIMIT ?",
                (limit,),
            ).fetchall()

    # -- definitions -----------------------------------------------------------------------

    # a definition row as Definition takes it, after its ord
    _DEF_FIELDS = (
        "d.ord, d.name, d.qualified_name, d.kind, d.start_line, d.end_line,"
        " d.name_line, d.name_col, d.signature, d.doc, d.parent"
    )
    _DEF_COLUMNS = f"f.path, {_DEF_FIELDS}"

    def definitions_in(self, path: str) -> list[StoredDefinition]:
        """One file's definitions (the packer asks per keystroke: the file's id is looked up once
        and its path not read back per row)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._DEF_FIELDS} FROM definitions d"
                " WHERE d.file_id = (SELECT id FROM files WHERE path=?) ORDER BY d.ord",
                (path,),
            ).fetchall()
        return [StoredDefinition(path, row[0], Definition(*row[1:])) for row in rows]

    def definitions_named(self, name: str, path: str | None = None) -> list[StoredDefinition]:
        if path is None:
            return self._definitions("WHERE d.name=? ORDER BY f.path, d.ord", (name,))
        return self._definitions("WHERE d.name=? AND f.path=? ORDER BY d.ord", (name, path))

    def search_definitions(self, query: str, limit: int) -> list[StoredDefinition]:
        """Definitions whose name matches: exact first, then prefix, then substring, then by path."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._definitions(
            "WHERE d.name LIKE ? ESCAPE '\\' ORDER BY d.name != ?, NOT (d.name LIKE ? ESCAPE '\\'),"
            " length(d.name), f.path, d.ord LIMIT ?",
            (pattern, query, pattern[1:], limit),
        )

    def _definitions(self, where: str, args: tuple) -> list[StoredDefinition]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._DEF_COLUMNS} FROM definitions d JOIN files f ON f.id = d.file_id {where}",
                args,
            ).fetchall()
        return [StoredDefinition(row[0], row[1], Definition(*row[2:])) for row in rows]

    # -- references ------------------------------------------------------------------------

    def references_to(self, name: str, paths: Iterable[str] | None = None) -> list[Occurrence]:
        """Every occurrence of an identifier, optionally only in the given files, in file order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT f.id, f.path, r.positions FROM refs r JOIN files f ON f.id = r.file_id"
                " WHERE r.name=? ORDER BY f.path",
                (name,),
            ).fetchall()
            wanted = set(paths) if paths is not None else None
            found: list[Occurrence] = []
            for file_id, path, blob in rows:
                if wanted is not None and path not in wanted:
                    continue
                values = array("i")
                values.frombytes(blob)
                spans = self._db.execute(
                    "SELECT start_line, end_line, ord FROM definitions WHERE file_id=? ORDER BY start_line, ord",
                    (file_id,),
                ).fetchall()
                pairs = sorted(zip(values[::2], values[1::2], strict=True))
                found.extend(Occurrence(path, line, col, innermost_definition(spans, line)) for line, col in pairs)
        return found

    def reference_counts(self, name: str) -> list[tuple[str, int]]:
        """(path, occurrences) of a name per file."""
        with self._lock:
            return self._db.execute(
                f"SELECT f.path, {OCCURRENCES} FROM refs r JOIN files f ON f.id = r.file_id WHERE r.name=?"
                " ORDER BY f.path",
                (name,),
            ).fetchall()

    def reference_totals(self, names: Iterable[str], exclude_path: str | None = None) -> dict[str, int]:
        """How often each name is referenced in the whole workspace (a popularity prior), or in every
        file but ``exclude_path``."""
        return self._sum_references(names, "file_id IS NOT (SELECT id FROM files WHERE path=?)", exclude_path)

    def file_reference_counts(self, path: str, names: Iterable[str]) -> dict[str, int]:
        """How often each name is referenced in one file."""
        return self._sum_references(names, "file_id = (SELECT id FROM files WHERE path=?)", path)

    def _sum_references(self, names: Iterable[str], file_filter: str, path: str | None) -> dict[str, int]:
        """Per name, its references summed over the files ``file_filter`` admits for ``path`` (a
        path of None matches no file, so ``IS NOT`` then admits every file)."""
        wanted = list(dict.fromkeys(names))
        totals: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = (
                    f"SELECT name, sum({OCCURRENCES}) FROM refs WHERE name IN ({marks}) AND {file_filter} GROUP BY name"
                )
                totals.update(self._db.execute(query, (*chunk, path)).fetchall())
        return totals

    def reference_edges(self, max_definers: int) -> list[tuple[str, str, str, int]]:
        """(referencing file, defining file, name, occurrences) for every top-level name a file
        uses that another file defines, leaving out names defined in more than ``max_definers``
        files (`get`, `run`: they link everything to everything)."""
        with self._lock:
            return self._db.execute(
                "WITH definers AS (SELECT name, file_id FROM definitions WHERE parent = -1 AND name IN"
                " (SELECT name FROM definitions WHERE parent = -1 GROUP BY name"
                "  HAVING COUNT(DISTINCT file_id) <= ?) GROUP BY name, file_id)"
                f" SELECT f.path, g.path, r.name, {OCCURRENCES} FROM refs r JOIN definers d ON d.name = r.name"
                " JOIN files f ON f.id = r.file_id JOIN files g ON g.id = d.file_id WHERE r.file_id != d.file_id",
                (max_definers,),
            ).fetchall()

    # -- lexical search over code chunks (FTS5) ---------------------------------------------

    def stale_chunk_files(self) -> list[tuple[str, str]]:
        """(path, hash) of files whose chunks are missing or from older content."""
        with self._lock:
            return self._db.execute(
                "SELECT f.path, f.hash FROM files f LEFT JOIN chunk_files c ON c.file_id = f.id"
                " WHERE c.hash IS NULL OR c.hash != f.hash ORDER BY f.path"
            ).fetchall()

    def put_chunks(self, path: str, content_hash: str, chunks: list[tuple[int, int, str]]) -> None:
        """Replace a file's chunks: (start_line, end_line, search terms). Call inside a transaction.
        Nothing is written when the file changed again since ``content_hash`` was read."""
        row = self._db.execute("SELECT id, hash FROM files WHERE path=?", (path,)).fetchone()
        if row is None or row[1] != content_hash:
            return
        file_id = row[0]
        self._clear_chunks(file_id)
        for start, end, terms in chunks:
            chunk_id = self._db.execute(
                "INSERT INTO chunk_spans (file_id, start_line, end_line) VALUES (?, ?, ?)", (file_id, start, end)
            ).lastrowid
            self._db.execute("INSERT INTO chunks (rowid, terms) VALUES (?, ?)", (chunk_id, terms))
        self._db.execute("INSERT INTO chunk_files VALUES (?, ?)", (file_id, content_hash))

    def search_chunks(
        self, query: str, limit: int, exclude_path: str | None = None, should_stop: Callable[[], bool] | None = None
    ) -> list[tuple[str, int, int, float]]:
        """(path, start_line, end_line, bm25) of the chunks best matching an FTS5 query, best first
        (FTS5's bm25() is lower for better matches; it is returned negated, higher is better).

        ``should_stop`` is polled while SQLite works (a BM25 over every chunk holding a common term takes
        hundreds of milliseconds); when it says stop, the query is abandoned with QueryInterrupted."""
        stopped = False

        def poll() -> int:
            nonlocal stopped
            stopped = bool(should_stop and should_stop())
            return int(stopped)

        with self._lock:
            if should_stop is not None:
                self._db.set_progress_handler(poll, PROGRESS_STEPS)
            try:
                rows = self._db.execute(
                    "SELECT f.path, s.start_line, s.end_line, bm25(chunks) AS score FROM chunks"
                    " JOIN chunk_spans s ON s.id = chunks.rowid JOIN files f ON f.id = s.file_id"
                    " WHERE chunks MATCH ? AND f.path IS NOT ? ORDER BY score LIMIT ?",
                    (query, exclude_path, limit),
                ).fetchall()
            except sqlite3.OperationalError as error:  # a query FTS5 cannot parse finds nothing
                if stopped:
                    raise QueryInterrupted(f"search abandoned: {error}") from None
                return []
            finally:
                if should_stop is not None:
                    self._db.set_progress_handler(None, 0)
        return [(path, start, end, -score) for path, start, end, score in rows]

    # -- statistics ------------------------------------------------------------------------

    def counts_by_language(self) -> list[tuple[str, int, int, int]]:
        """(language, files, definitions, lines) per language."""
        with self._lock:
            return self._db.execute(
                "SELECT f.language, COUNT(*), SUM((SELECT COUNT(*) FROM definitions d WHERE d.file_id = f.id)),"
                " SUM(f.line_count) FROM files f GROUP BY f.language ORDER BY COUNT(*) DESC, f.language"
            ).fetchall()

    def totals(self) -> dict[str, int]:
        with self._lock:
            one = self._db.execute
            return {
                "files": one("SELECT COUNT(*) FROM files").fetchone()[0],
                "definitions": one("SELECT COUNT(*) FROM definitions").fetchone()[0],
                "references": one(f"SELECT COALESCE(SUM({OCCURRENCES}), 0) FROM refs").fetchone()[0],
                "imports": one("SELECT COUNT(*) FROM imports").fetchone()[0],
                "resolved_imports": one("SELECT COUNT(DISTINCT import_id) FROM import_targets").fetchone()[0],
            }

    def integrity_ok(self) -> bool:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def defer_checkpoints(self) -> None:
        """Commits on this connection leave the write-ahead log growing instead of copying it into
        the database every 1000 pages (each copy ends in an fsync the writer waits for); whoever
        calls ``checkpoint`` folds it in. Committed data is as safe in the log as in the database."""
        with self._lock:
            self._db.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self, passive: bool = False) -> None:
        """Copy the write-ahead log into the database and empty it; ``passive``: copy what is
        committed without waiting for other connections, and leave the log to be reused."""
        with self._lock:
            self._db.execute(f"PRAGMA wal_checkpoint({'PASSIVE' if passive else 'TRUNCATE'})")


def _ref_ids(file_id: int) -> tuple[int, int]:
    """The range of reference row ids a file's rows take, ``[first, end)``."""
    return file_id * REFS_PER_FILE, (file_id + 1) * REFS_PER_FILE


def _file_row(row: tuple) -> FileRow:
    exports = tuple(row[8].split("\n")) if row[8] else (() if row[8] == "" else None)
    return FileRow(*row[:8], exports=exports)


def _import_rows(imp: Import) -> list[tuple[str | None, str | None]]:
    """One stored row per imported name; a whole-module import (or alias) is a row with no name.

    Both kinds can come from one statement: ``import x, * as ns from "m"``.
    """
    rows: list[tuple[str | None, str | None]] = [(name.name, name.alias) for name in imp.names]
    if not imp.names or imp.alias:
        rows.append((None, imp.alias))
    return rows


def import_from_row(row: tuple) -> Import:
    """The ``Import`` of a stored row's ``(module, line, name, alias, reexport)``."""
    module, line, name, alias, reexport = row
    if name is None:
        return Import(module, line, alias=alias, reexport=bool(reexport))
    return Import(module, line, names=(ImportedName(name, alias),), reexport=bool(reexport))


def pack_references(references: dict[str, list[int]]) -> dict[str, bytes]:
    """Occurrence triples as compact blobs, the form ``Store.put_file`` stores."""
    return {name: array("i", values).tobytes() for name, values in references.items()}
