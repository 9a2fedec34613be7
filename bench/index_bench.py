"""Indexing speed on the interpreter's standard library, against raw tree-sitter in the same run.

- cold: full index (definitions, references, imports, resolution, SQLite) with every core, vs a
  raw single-core tree-sitter parse of exactly the same files; the ratio is index/raw (goal <= 1).
- edits: 20 edits to open buffers of 50-250 KB files, time until the index reflects each (p50/p95).
- size of the index on disk and peak memory of this process.

Wall-clock seconds depend on what else the machine runs; CPU seconds much less. So the bench also
reports the CPU time of the index (this process plus every indexing worker, as each reports its own)
against the CPU time of the raw parse: on 2 free cores, index CPU <= 2 x raw CPU is what a wall
ratio <= 1.0 needs (and no more, if the work were spread perfectly over both cores).

On a shared machine the speed of one core drifts by 10-20 % within a minute, so one index run
against one reference says little. The bench alternates them: reference, index, reference, index,
... reference; each index run is set against the mean of the two references around it, and the
figure reported is the median of those ratios (every round is printed and saved too). Each cold
index runs in a fresh interpreter, as ``wholerepo index`` does: its worker processes' fork server
starts inside the measured time, every round.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from indexer import Index, IndexConfig, native
from indexer.extract import Extractor
from indexer.files import IgnoreRules, walk
from indexer.languages import language_for_path
from indexer.store import FLAG_PARSE_ERRORS
from lsp_server.demo import STDLIB_EXCLUDE

from .report import percentile, print_table, save

EDITS = 20
ROUNDS = 3  # cold index runs, each between two reference parses
EDIT_SIZE_RANGE = (50_000, 250_000)


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def raw_parse_seconds(root: Path, paths: list[str]) -> tuple[float, float, int]:
    """One core, tree-sitter parse only: the reference the index is measured against.
    Returns (wall seconds, CPU seconds, bytes parsed)."""
    extractors: dict[str, Extractor] = {}
    sources = [(p, (root / p).read_bytes()) for p in paths]
    started, started_cpu = time.perf_counter(), cpu_seconds()
    for path, data in sources:
        spec = language_for_path(path)
        extractor = extractors.get(spec.name) or extractors.setdefault(spec.name, Extractor(spec))
        extractor.parse(data)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    return wall, cpu, sum(len(data) for _, data in sources)


def edit_latencies(index: Index, root: Path) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each edit (CPU time is what a busy machine barely changes)."""
    candidates = sorted(
        row.path
        for row in index.store.files().values()
        if EDIT_SIZE_RANGE[0] <= row.size <= EDIT_SIZE_RANGE[1]
        and row.path.endswith(".py")
        and not row.flags & FLAG_PARSE_ERRORS  # the edit must land in code that parses
    )
    step = max(1, len(candidates) // EDITS)
    chosen = candidates[::step][:EDITS]
    latencies, cpu_times = [], []
    for number, path in enumerate(chosen):
        text = (root / path).read_text(encoding="utf-8", errors="replace")
        index.update(path, text)  # the editor opens the file
        middle = _top_level_statement_near(text, len(text) // 2)
        edited = f"{text[:middle]}\ndef inserted_{number}(value):\n    return value\n{text[middle:]}"
        started, started_cpu = time.perf_counter(), time.process_time()
        index.update(path, edited)
        latencies.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - started_cpu)
        assert any(d.definition.name == f"inserted_{number}" for d in index.definitions(path))
        index.close_buffer(path)
    return latencies, cpu_times


def _top_level_statement_near(text: str, offset: int) -> int:
    """The start of the column-0 ``def``/``class`` line nearest to ``offset`` (else the end)."""
    starts = [m.start() for m in re.finditer(r"\n(?=(?:def|class|async def) )", text)]
    return min(starts, key=lambda start: abs(start - offset)) if starts else len(text)


def cold_index(index_dir: Path) -> dict:
    """One cold build of the standard library into an empty ``index_dir``, in a fresh interpreter as
    ``wholerepo index`` would run it (its worker processes' fork server not yet started): wall
    seconds, CPU seconds of that process and of its workers, and the workers' peak memory."""
    command = [sys.executable, "-m", "bench.index_bench", "--cold", str(index_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_kb() -> int:
    """This process's peak resident memory. Linux's ru_maxrss keeps the peak from before an exec,
    which for a child of this bench is the bench's own; VmHWM starts again with the new program."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))


def _cold_index_here(index_dir: Path) -> None:
    """``cold_index``'s child: builds, prints its figures as one JSON line."""
    with Index(stdlib_root(), IndexConfig(index_dir=index_dir, exclude=STDLIB_EXCLUDE)) as index:
        started, started_cpu = time.perf_counter(), cpu_seconds()
        stats = index.build()
        wall, main_cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    figures = {
        "wall": wall,
        "main_cpu": main_cpu,
        "workers_cpu": sum(stats.worker_cpu.values()),
        "main_peak_rss_kb": peak_rss_kb(),
        "worker_peak_rss_kb": stats.worker_peak_rss_kb,
        "skipped": dict(stats.skipped),
    }
    print(json.dumps(figures))


def run() -> dict:
    root = stdlib_root()
    cpus = len(os.sched_getaffinity(0))
    paths = [source.path for source in walk(root, rules=IgnoreRules(root.resolve(), STDLIB_EXCLUDE)).files]
    references = [raw_parse_seconds(root, paths)]  # (wall, CPU, bytes) before, between and after
    rounds = []  # (index wall, main CPU, workers CPU) per round
    with tempfile.TemporaryDirectory(prefix="wholerepo-bench-") as scratch:
        for number in range(ROUNDS):
            cold = cold_index(Path(scratch) / f"round-{number}")
            rounds.append((cold["wall"], cold["main_cpu"], cold["workers_cpu"]))
            references.append(raw_parse_seconds(root, paths))
        last = IndexConfig(index_dir=Path(scratch) / f"round-{ROUNDS - 1}", exclude=STDLIB_EXCLUDE)
        with Index(root, last) as index:  # the last round's index: its figures, then the edits
            index.build()  # nothing changed: only brings the in-memory state up
            indexed = index.store.paths()
            summary = index.stats()
            latencies, edit_cpu = edit_latencies(index, root)
    total_bytes = references[0][2]
    wall_ratios = [wall / ((references[n][0] + references[n + 1][0]) / 2) for n, (wall, _, _) in enumerate(rounds)]
    cpu_ratios = [
        (main + workers) / ((references[n][1] + references[n + 1][1]) / 2)
        for n, (_, main, workers) in enumerate(rounds)
    ]
    middle = sorted(range(ROUNDS), key=lambda n: wall_ratios[n])[ROUNDS // 2]  # the median round
    index_seconds, main_cpu, workers_cpu = rounds[middle]
    raw_seconds = (references[middle][0] + references[middle + 1][0]) / 2
    raw_cpu = (references[middle][1] + references[middle + 1][1]) / 2
    index_cpu = main_cpu + workers_cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "root": str(root),
        "files": len(indexed),
        "megabytes": round(total_bytes / 1e6, 2),
        "cores": cpus,
        "rounds": ROUNDS,
        "raw_parse_seconds_one_core": round(raw_seconds, 3),
        "raw_parse_seconds_each": [round(wall, 3) for wall, _, _ in references],
        "index_seconds": round(index_seconds, 3),
        "index_seconds_each": [round(wall, 3) for wall, _, _ in rounds],
        "ratio_index_over_raw_parse": round(wall_ratios[middle], 3),
        "ratio_index_over_raw_parse_each": [round(ratio, 3) for ratio in wall_ratios],
        "raw_parse_cpu_seconds": round(raw_cpu, 3),
        "index_cpu_seconds": round(index_cpu, 3),
        "index_cpu_seconds_main_and_workers": [round(main_cpu, 3), round(workers_cpu, 3)],
        "ratio_index_cpu_over_raw_parse_cpu": round(cpu_ratios[middle], 3),
        "ratio_index_cpu_over_raw_parse_cpu_each": [round(ratio, 3) for ratio in cpu_ratios],
        "load_average_1_5_15": [round(load, 2) for load in os.getloadavg()],
        "raw_parse_mb_per_s": round(total_bytes / 1e6 / raw_seconds, 2),
        "index_mb_per_s": round(total_bytes / 1e6 / index_seconds, 2),
        "definitions": summary["definitions"],
        "references": summary["references"],
        "imports": summary["imports"],
        "resolved_imports": summary["resolved_imports"],
        "index_megabytes": round(summary["index_bytes"] / 1e6, 1),
        "peak_rss_megabytes_main_process": round(cold["main_peak_rss_kb"] / 1024, 1),
        "peak_rss_megabytes_bench_process": round(peak_mb, 1),
        "peak_rss_megabytes_per_worker": round(cold["worker_peak_rss_kb"] / 1024, 1),
        "edit_count": len(latencies),
        "edit_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "edit_p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "edit_max_ms": round(max(latencies) * 1000, 2),
        "edit_cpu_p50_ms": round(percentile(edit_cpu, 50) * 1000, 2),
        "edit_cpu_p95_ms": round(percentile(edit_cpu, 95) * 1000, 2),
        "skipped": cold["skipped"],
        "native_scanner": native.load() is not None,
    }
    print_table(
        f"Index: Python {sysconfig.get_python_version()} standard library",
        [
            ("files", f"{figures['files']} ({figures['megabytes']} MB)"),
            ("extraction", "compiled scanner (indexer.native)" if figures["native_scanner"] else "pure Python"),
            ("raw tree-sitter parse, 1 core", f"{raw_seconds:.2f} s ({figures['raw_parse_mb_per_s']} MB/s)"),
            (f"full index, {cpus} cores", f"{index_seconds:.2f} s ({figures['index_mb_per_s']} MB/s)"),
            (
                f"ratio index / raw parse (median of {ROUNDS})",
                f"{figures['ratio_index_over_raw_parse']:.2f}  (goal <= 1.0; rounds"
                f" {' '.join(f'{ratio:.2f}' for ratio in wall_ratios)})",
            ),
            (
                "CPU: index (main + workers) / raw parse",
                f"{index_cpu:.2f} s ({main_cpu:.2f} + {workers_cpu:.2f}) / {raw_cpu:.2f} s"
                f" = {figures['ratio_index_cpu_over_raw_parse_cpu']:.2f}  (<= {cpus} needed on {cpus} free cores;"
                f" rounds {' '.join(f'{ratio:.2f}' for ratio in cpu_ratios)})",
            ),
            ("load average (1, 5, 15 min)", " ".join(f"{x:.2f}" for x in figures["load_average_1_5_15"])),
            ("definitions / references", f"{figures['definitions']:,} / {figures['references']:,}"),
            ("imports (resolved)", f"{figures['imports']:,} ({figures['resolved_imports']:,})"),
            ("index on disk", f"{figures['index_megabytes']} MB"),
            ("peak RSS (main process)", f"{figures['peak_rss_megabytes_main_process']} MB"),
            ("peak RSS (each worker, at most)", f"{figures['peak_rss_megabytes_per_worker']} MB"),
            (
                f"edit -> index updated ({len(latencies)} edits, 50-250 KB)",
                f"p50 {figures['edit_p50_ms']} ms, p95 {figures['edit_p95_ms']} ms  (goal p95 <= 50 ms)",
            ),
            ("  CPU time of those edits", f"p50 {figures['edit_cpu_p50_ms']} ms, p95 {figures['edit_cpu_p95_ms']} ms"),
        ],
    )
    print(f"  written to {save('index', figures)}")
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["--cold"]:
        _cold_index_here(Path(sys.argv[2]))
    else:
        run()
