"""Whole-repo renames on real packages, judged by each package's own test suite.

Usage: ``python -m bench.rename_eval [--py /tmp/eval-py] [--venvs /tmp/wholerepo-rename-venvs]
[--per-package 5]`` after ``../shared/eval/prepare.py ../shared/eval/cases-dev.jsonl --dest
/tmp/eval-py`` unpacked the dev packages. It fetches test dependencies from PyPI into one scratch
venv per package (so it is not part of ``make bench``).

The symbols are chosen by a rule, not by hand: the package's public top-level functions and
classes (defined or re-exported by the package's ``__init__.py``, no leading underscore), ranked
by how many identifier occurrences of the name the index holds, most first. Each is renamed (``name`` ->
``name_wr`` for functions, ``NameWr`` for classes) on a fresh copy of the package, the change is
written with ``apply_to_disk``, and the test suite runs on the copy. The suite of the untouched
copy runs first; a rename "keeps the tests green" when no test that passed before fails after.
Refused renames are reported with their reason (a refusal is the safe outcome, but not a success).
``--in-text`` retries each regressed rename with strings and comments renamed too (the opt-in mode)
and reports that outcome beside the default one; ``--only NAME ...`` runs a subset without saving.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from agent import Position, RefactorError, Workspace, WorkspaceSettings, apply_to_disk, rename

from .report import RESULTS, print_table, save

TEST_TIMEOUT_S = 900


@dataclass(frozen=True)
class Package:
    name: str
    root: str  # under the --py folder
    source: str  # the package's own code, relative to root
    pythonpath: str  # what goes on PYTHONPATH so the copy is the one imported
    requirements: tuple[str, ...]  # pip install, into the package's scratch venv
    tests: str = "tests"
    skip: tuple[str, ...] = ()  # test modules left out (said in the results), e.g. minutes-long stress tests


PACKAGES = (
    Package(
        "click",
        "click-8.5.1/click-8.5.1",
        "src/click",
        "src",
        ("click==8.5.1", "pytest"),
        skip=("tests/test_stream_lifecycle.py",),  # a garbage-collection stress module: many minutes here
    ),
    Package(
        "flask",
        "flask-3.1.3/flask-3.1.3",
        "src/flask",
        "src",
        ("flask==3.1.3", "pytest<9", "asgiref", "greenlet", "python-dotenv"),
    ),
    Package(
        "requests",
        "requests-2.34.2/requests-2.34.2",
        "src/requests",
        "src",
        ("requests[socks]==2.34.2", "pytest", "pytest-httpbin==2.1.0", "httpbin~=0.10.0", "trustme"),
    ),
    Package(
        "httpx",
        "httpx-0.28.1/httpx-0.28.1",
        "httpx",
        ".",
        ("httpx[brotli,cli,http2,socks,zstd]==0.28.1", "pytest", "trio", "uvicorn", "trustme", "chardet"),
    ),
)


def venv_python(venvs: Path, package: Package) -> Path:
    """The package's scratch venv with its test dependencies, made on first use."""
    folder = venvs / package.name
    python = folder / "bin" / "python"
    marker = folder / ".wholerepo-ready"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *package.requirements], check=True)
        marker.write_text("\n".join(package.requirements))
    return python


def run_tests(python: Path, copy: Path, package: Package, report: Path) -> dict:
    """Run the suite on a copy; the outcome of every test by id."""
    env = {**os.environ, "PYTHONPATH": str(copy / package.pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    try:
        subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                package.tests,
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "--continue-on-collection-errors",  # one module that fails to import must not hide the rest
                *(f"--ignore={module}" for module in package.skip),
                f"--junit-xml={report}",
                "-o",
                "addopts=",
            ],
            cwd=copy,
            env=env,
            capture_output=True,
            timeout=TEST_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "outcomes": {}, "seconds": TEST_TIMEOUT_S}
    outcomes = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            test_id = f"{case.get('classname')}::{case.get('name')}".replace(str(copy), "<copy>")  # ids naming files
            kinds = {child.tag for child in case}
            outcomes[test_id] = (
                "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
            )
    return {"timed_out": False, "outcomes": outcomes, "seconds": round(time.perf_counter() - started, 1)}


def choose_symbols(ws: Workspace, package: Package, count: int) -> list:
    """The package's public functions and classes (defined or re-exported by its ``__init__.py``,
    no leading underscore), most-referenced first."""
    init = f"{package.source}/__init__.py"
    public = {d.definition.name for d in ws.index.definitions(init) if d.definition.parent == -1}
    for row in ws.index.imports_of(init):
        if row.name == "*":  # `from ._client import *` re-exports that module's top level
            public |= {
                d.definition.name for t in row.targets for d in ws.index.definitions(t) if d.definition.parent == -1
            }
        elif row.name:
            public.add(row.alias or row.name)
    candidates = [
        stored
        for path in sorted(ws.index.store.paths())
        if path.startswith(package.source + "/") and path.endswith(".py")
        for stored in ws.index.definitions(path)
        if stored.definition.parent == -1
        and stored.definition.kind in ("function", "class")
        and stored.definition.name in public
        and not stored.definition.name.startswith("_")
    ]
    totals = ws.index.reference_totals({c.definition.name for c in candidates})
    candidates.sort(key=lambda c: (-totals.get(c.definition.name, 0), c.definition.name, c.path))
    chosen, names = [], set()
    for candidate in candidates:
        if candidate.definition.name not in names:
            names.add(candidate.definition.name)
            chosen.append((candidate, totals.get(candidate.definition.name, 0)))
    return chosen[:count]


def open_copy(source: Path, folder: Path) -> Workspace:
    shutil.copytree(source, folder / "repo", symlinks=True)
    ws = Workspace(folder / "repo", WorkspaceSettings(index_dir=folder / "index", jobs=1))
    ws.build_index()
    return ws


def rename_and_test(
    source: Path, folder: Path, python: Path, package: Package, target: tuple, baseline: dict, in_text: bool = False
) -> dict:
    """Rename on a fresh copy, write it, run the suite: the row's status and figures."""
    path, line, col, new_name = target
    folder.mkdir()
    with open_copy(source, folder) as ws:
        line_text = ws.index.source_text(path).split("\n")[line - 1]
        column = len(line_text.encode()[:col].decode("utf-8", "ignore"))
        started = time.perf_counter()
        try:
            change = rename(ws, path, Position(line - 1, column), new_name, in_text=in_text)
        except RefactorError as error:
            return {"status": "refused", "reason": str(error)}
        row = {"rename_seconds": round(time.perf_counter() - started, 2)}
        row["edits"], row["files"] = change.edit_count, len(change.files)
        apply_to_disk(ws, change)
        after = run_tests(python, ws.root, package, folder / "junit.xml")
    before = baseline["outcomes"]
    broken = sorted(t for t, o in before.items() if o == "passed" and after["outcomes"].get(t) != "passed")
    return {
        **row,
        "status": "green as before" if not broken and not after["timed_out"] else "tests regressed",
        "newly_failing": len(broken),
        "examples": broken[:5],
        "tests_seconds": after["seconds"],
    }


def evaluate_package(
    py_root: Path, venvs: Path, package: Package, per_package: int, in_text: bool = False, only: list | None = None
) -> dict:
    source = py_root / package.root
    python = venv_python(venvs, package)
    with tempfile.TemporaryDirectory(prefix=f"rename-{package.name}-") as scratch:
        base = Path(scratch) / "baseline"
        base.mkdir()
        with open_copy(source, base) as ws:
            symbols = [
                (s.path, s.definition.name_line, s.definition.name_col, s.definition.name, s.definition.kind, refs)
                for s, refs in choose_symbols(ws, package, per_package)
                if not only or s.definition.name in only
            ]
            baseline = run_tests(python, ws.root, package, base / "junit.xml")
            print(f"{package.name}: baseline in {baseline['seconds']} s", flush=True)
            if not any(outcome == "passed" for outcome in baseline["outcomes"].values()):
                raise SystemExit(f"{package.name}: no test passes on the untouched copy; check its test dependencies")
        renames = []
        for index, (path, line, col, name, kind, refs) in enumerate(symbols):
            row = {"symbol": name, "kind": kind, "path": path, "occurrences_of_name": refs}
            target = (path, line, col, f"{name}Wr" if kind == "class" else f"{name}_wr")
            row.update(rename_and_test(source, Path(scratch) / f"rename-{index}", python, package, target, baseline))
            if in_text and row["status"] == "tests regressed":
                again = rename_and_test(
                    source, Path(scratch) / f"rename-{index}-text", python, package, target, baseline, in_text=True
                )
                row["in_text"] = {k: again[k] for k in ("status", "newly_failing", "examples", "edits") if k in again}
            renames.append(row)
            print(f"{package.name}: {row['symbol']}: {row['status']} {row.get('examples', [])[:3]}", flush=True)
    counts = {o: sum(1 for v in baseline["outcomes"].values() if v == o) for o in ("passed", "failed", "skipped")}
    return {
        "package": package.name,
        "baseline": {**counts, "seconds": baseline["seconds"], "skipped_modules": list(package.skip)},
        "renames": renames,
    }


def summarise(results: list[dict]) -> dict:
    rows = [r for result in results for r in result["renames"]]
    green = sum(1 for r in rows if r["status"] == "green as before")
    refused = sum(1 for r in rows if r["status"] == "refused")
    green_in_text = green + sum(1 for r in rows if r.get("in_text", {}).get("status") == "green as before")
    return {
        "renames": len(rows),
        "green_as_before": green,
        "refused": refused,
        "regressed": len(rows) - green - refused,
        "green_with_in_text_retry": green_in_text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--py", type=Path, default=Path("/tmp/eval-py"))
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "wholerepo-rename-venvs")
    parser.add_argument("--per-package", type=int, default=5)
    parser.add_argument("--packages", nargs="*", default=[p.name for p in PACKAGES], choices=[p.name for p in PACKAGES])
    parser.add_argument("--keep", action="store_true", help="keep saved figures of the packages not rerun")
    parser.add_argument(
        "--in-text", action="store_true", help="retry each regressed rename with strings and comments renamed too"
    )
    parser.add_argument("--only", nargs="*", help="rename only these symbols (while iterating; figures not saved)")
    args = parser.parse_args()
    results = []
    if args.keep and (RESULTS / "rename.json").exists():  # figures of packages not rerun this time
        kept = json.loads((RESULTS / "rename.json").read_text())["figures"]["packages"]
        results = [r for r in kept if r["package"] not in args.packages]
    by_name = {package.name: package for package in PACKAGES}
    for name in args.packages:
        results.append(evaluate_package(args.py, args.venvs, by_name[name], args.per_package, args.in_text, args.only))
        if not args.only:
            save("rename", {"summary": summarise(results), "packages": results})  # each package as it ends
    rows = [r for result in results for r in result["renames"]]
    summary = summarise(results)
    green, refused = summary["green_as_before"], summary["refused"]
    table = [
        (f"{res['package']}: baseline", f"{res['baseline']['passed']} passed, {res['baseline']['failed']} failed")
        for res in results
    ]
    table += [
        (
            f"{r['symbol']} ({r['path']})",
            r["status"]
            + (
                f" ({r.get('newly_failing')} newly failing)"
                if r["status"] == "tests regressed"
                else f": {r['reason'][:90]}"
                if r["status"] == "refused"
                else f", {r['edits']} edits in {r['files']} files"
            )
            + (f"; with --in-text: {r['in_text']['status']}" if "in_text" in r else ""),
        )
        for r in rows
    ]
    table.append(("renames green as before", f"{green}/{len(rows)} ({refused} refused)"))
    if args.in_text:
        table.append(("... counting the --in-text retries", f"{summary['green_with_in_text_retry']}/{len(rows)}"))
    print_table("Rename on real packages, judged by their own tests", table)


if __name__ == "__main__":
    main()
