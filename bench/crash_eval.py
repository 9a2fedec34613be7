"""kill -9 at many points of indexing and editing: the index is never corrupt and never diverges.

Each point runs a real process over a copy of a real codebase (a package of the standard library),
kills it with SIGKILL at a chosen moment, then checks the SQLite file with `PRAGMA integrity_check`,
reopens the index, brings it up to date and compares it with a fresh index of the same files.

- Cold indexing: the `wholerepo index` CLI (its forkserver and workers too) is killed once a given
  share of the files is stored.
- Editing: a process overlays editor buffers (`Index.update`) and writes files to disk followed by
  `Index.refresh`, one step after another, and is killed a few milliseconds after a given step.

Run: ``python -m bench.crash_eval [--points N]``; tests/indexer/test_crash_points.py runs a few points.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from indexer import Index, IndexConfig

from .report import print_table, save

DB_NAME = "index.sqlite"
EDITOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from indexer import Index, IndexConfig

    root, index_dir = Path(sys.argv[1]), Path(sys.argv[2])
    if __name__ == "__main__":
        with Index(root, IndexConfig(index_dir=index_dir)) as index:
            index.build()
            paths = sorted(p for p in index.store.paths() if p.endswith(".py"))
            print("ready", flush=True)
            for step in range(100_000):
                rel = paths[(step * 7) % len(paths)]
                text = (root / rel).read_text(encoding="utf-8")
                added = f"\\n\\ndef added_{step}(value):\\n    return helper_{step % 5}(value)\\n"
                if step % 3 == 2:  # saved to disk, then the watcher's refresh
                    (root / rel).write_text(text + added, encoding="utf-8")
                    index.refresh([rel])
                else:  # an unsaved buffer
                    index.update(rel, text + added)
                print(step, flush=True)
    """
)


@dataclass(frozen=True)
class Outcome:
    phase: str
    point: str
    intact: bool
    matches_fresh: bool


def _rows(db_path: Path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.Error:
        return 0


def fingerprint(index: Index) -> tuple:
    """Everything a user of the index sees, in a comparable form."""
    files = []
    for path in index.store.paths():
        definitions = [
            (d.name, d.kind, d.start_line, d.end_line, d.signature)
            for d in (stored.definition for stored in index.definitions(path))
        ]
        imports = sorted((row.line, row.module, row.name or "", row.targets) for row in index.imports_of(path))
        files.append((path, definitions, imports))
    totals = index.store.totals()
    return totals, files, index.store.dependency_edges()


def integrity_ok(db_path: Path) -> bool:
    with sqlite3.connect(db_path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def verify(root: Path, index_dir: Path, scratch: Path) -> tuple[bool, bool]:
    """(integrity ok, the resumed index equals a fresh one) after a kill."""
    intact = integrity_ok(index_dir / DB_NAME)
    with Index(root, IndexConfig(index_dir=index_dir)) as resumed:
        resumed.build()
        after = fingerprint(resumed)
    fresh_dir = scratch / f"fresh-{time.monotonic_ns()}"
    with Index(root, IndexConfig(index_dir=fresh_dir)) as fresh:
        fresh.build()
        expected = fingerprint(fresh)
    shutil.rmtree(fresh_dir, ignore_errors=True)
    return intact, after == expected


def kill_cold_build(source: Path, scratch: Path, share: float) -> Outcome:
    """Kill `wholerepo index` once `share` of the files are stored."""
    index_dir = scratch / f"cold-{share:.2f}"
    total = sum(1 for p in source.rglob("*.py"))
    process = subprocess.Popen(
        [sys.executable, "-m", "lsp_server.cli", "index", str(source), "--index-dir", str(index_dir), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = max(1, int(total * share))
    deadline = time.monotonic() + 300
    while _rows(index_dir / DB_NAME) < target and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    running = process.poll() is None
    if running:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    intact, same = verify(source, index_dir, scratch)
    shutil.rmtree(index_dir, ignore_errors=True)
    when = f"{share:.0%} stored" if running else f"{share:.0%} (finished before the kill)"
    return Outcome("cold index", when, intact, same)


def kill_while_editing(source: Path, scratch: Path, step: int, jitter_ms: float) -> Outcome:
    """Kill the editing process `jitter_ms` after it finished edit number `step`."""
    root = scratch / f"edit-root-{step}"
    shutil.copytree(source, root)
    index_dir = scratch / f"edit-{step}"
    with Index(root, IndexConfig(index_dir=index_dir)) as index:
        index.build()
    process = subprocess.Popen(
        [sys.executable, "-c", EDITOR, str(root), str(index_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == str(step):
            break
    time.sleep(jitter_ms / 1000)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    intact, same = verify(root, index_dir, scratch)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    return Outcome("editing", f"after edit {step} + {jitter_ms:.0f} ms", intact, same)


def stdlib_package(name: str) -> Path:
    return Path(os.__file__).parent / name


def run(points: int = 24, package: str = "idlelib", seed: int = 7) -> list[Outcome]:
    rng = random.Random(seed)
    cold_points = points // 2
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        source = scratch / "source"
        shutil.copytree(stdlib_package(package), source, ignore=shutil.ignore_patterns("__pycache__"))
        for k in range(cold_points):
            outcomes.append(kill_cold_build(source, scratch, (k + 1) / (cold_points + 1)))
        for k in range(points - cold_points):
            outcomes.append(kill_while_editing(source, scratch, 1 + 2 * k, rng.uniform(0, 15)))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--package", default="idlelib", help="a standard-library package to copy")
    args = parser.parse_args()
    outcomes = run(args.points, args.package)
    rows = [(f"{o.phase}: {o.point}", f"integrity {'ok' if o.intact else 'FAILED'}, "
             f"{'matches a fresh index' if o.matches_fresh else 'DIVERGES'}") for o in outcomes]  # fmt: skip
    bad = sum(1 for o in outcomes if not (o.intact and o.matches_fresh))
    rows.append(("kill -9 points", f"{len(outcomes)}, corrupt or divergent after restart: {bad}"))
    print_table(f"kill -9 during indexing and editing (stdlib {args.package}/)", rows)
    save("crash", {"points": len(outcomes), "bad": bad, "outcomes": [o.__dict__ for o in outcomes]})


if __name__ == "__main__":
    main()
