"""False positives and recall of the static cross-file diagnostics on real packages nobody here wrote.

Usage: ``python -m bench.diagnostics_eval [--py /tmp/eval-py] [--ts /tmp/eval-ts]`` after
``../shared/eval/prepare.py`` unpacked the dev packages there (it fetches from PyPI/npm, so this is
not part of ``make bench``).

1. False positives: ``diagnose`` over every file of each unmodified package. Released code that
   imports and runs is presumed correct, so every finding counts as false unless inspected and
   listed in ``REAL_BUGS`` (none so far). Goal: <= 1 per 10K lines.
2. Recall: a copy of each Python package gets planted errors — a misspelled imported name, a function removed
   from its module (once on disk, once only in an editor buffer), a call with too many arguments, an
   import of a module that does not exist — and each must be reported at its place with its code.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from agent import Workspace, WorkspaceSettings
from agent.diagnose import ModuleFacts, diagnose
from agent.diagnostics.modules import is_python, is_script
from agent.navigate import SourceLines

from .report import print_table, save

# Findings on unmodified released code that were inspected and are real bugs: (package, path, line, code).
REAL_BUGS: dict[tuple[str, str, int, str], str] = {
    ("attrs-26.1.0", "attrs-26.1.0/typing-examples/baseline.py", 177, "call-arguments"): (
        "attrs.asdict(..., retain_collection_types=False) raises TypeError at run time: the stub has the "
        "keyword, attr._next_gen.asdict does not (the file is only type-checked, never run)"
    ),
    ("attrs-26.1.0", "attrs-26.1.0/typing-examples/mypy.py", 389, "call-arguments"): (
        "attr.asdict(..., tuple_keys=True) raises TypeError at run time: attr._funcs.asdict has no "
        "tuple_keys (only astuple-like stubs mention it; the file is only type-checked)"
    ),
    ("flask-3.1.3", "flask-3.1.3/tests/test_apps/subdomaintestmodule/__init__.py", 1, "unknown-import-name"): (
        "from flask import Module: flask.Module was removed in Flask 1.0; importing this stale test "
        "app raises ImportError (the tests only use its folder path)"
    ),
}


@dataclass(frozen=True)
class Plant:
    kind: str
    path: str
    line: int  # 0-based line where the finding must start
    code: str


def packages(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def open_workspace(root: Path, index_dir: Path) -> Workspace:
    ws = Workspace(root, WorkspaceSettings(index_dir=index_dir, jobs=1))
    ws.build_index()
    return ws


def diagnose_all(ws: Workspace) -> tuple[int, int, list]:
    """(files, lines, findings) over every Python and JS/TS file of the workspace."""
    lines_cache = SourceLines(ws)
    facts = ModuleFacts(ws, lines_cache)
    files = [p for p in ws.index.store.paths() if is_python(p) or is_script(p)]
    line_total = 0
    findings = []
    for path in files:
        line_total += len(lines_cache.lines(path))
        findings += diagnose(ws, path, facts)
    return len(files), line_total, findings


def false_positives(roots: list[Path], scratch: Path) -> dict:
    rows = []
    listed = []
    for root in roots:
        started = time.perf_counter()
        with open_workspace(root, scratch / f"index-{root.name}") as ws:
            files, lines, findings = diagnose_all(ws)
        real = [f for f in findings if _bug_key(root.name, f) in REAL_BUGS]
        false = len(findings) - len(real)
        rows.append(
            {
                "package": root.name,
                "files": files,
                "lines": lines,
                "findings": len(findings),
                "real_bugs": len(real),
                "false_positives": false,
                "per_10k_lines": round(false * 10000 / max(lines, 1), 2),
                "seconds": round(time.perf_counter() - started, 1),
                "by_code": dict(Counter(f.code for f in findings)),
            }
        )
        listed += [
            {
                "package": root.name,
                "path": f.path,
                "line": f.range.start.line + 1,
                "code": f.code,
                "message": f.message,
                "real_bug": REAL_BUGS.get(_bug_key(root.name, f)),
            }
            for f in findings
        ]
    lines = sum(r["lines"] for r in rows)
    false = sum(r["false_positives"] for r in rows)
    return {
        "packages": rows,
        "total_lines": lines,
        "total_false_positives": false,
        "false_positives_per_10k_lines": round(false * 10000 / max(lines, 1), 3),
        "goal_per_10k_lines": 1.0,
        "findings": listed,
    }


def _bug_key(package: str, finding) -> tuple[str, str, int, str]:
    return (package, finding.path, finding.range.start.line + 1, finding.code)


def plant_errors(ws: Workspace) -> tuple[list[Plant], set[str]]:
    """Plant one error of each kind in the workspace's files, deterministically; no plant touches a
    file another plant changed, so each finding is judged on its own."""
    imports = _relative_imports(ws)
    plants: list[Plant] = []
    touched: set[str] = set()
    # 1. a misspelled imported name (the import line only)
    path, line, module, name = imports[0]
    _replace_on_line(ws, path, line, name, name + "x")
    plants.append(Plant("misspelled import", path, line, "unknown-import-name"))
    touched |= {path, *(t for row in ws.index.imports_of(path) if row.line == line + 1 for t in row.targets)}
    # 2. a function removed from its module, on disk: its importer must notice
    removed = _removable_function(ws, imports[1:], touched)
    if removed:
        importer, line, target, definition = removed
        _delete_lines(ws.root / target, definition.start_line - 1, definition.end_line)
        plants.append(Plant("removed function (disk)", importer, line, "unknown-import-name"))
        touched |= {importer, target}
    # 3. a call with too many positional arguments, to a function imported from another file
    call = _callable_import(ws, touched)
    if call:
        caller, name, target = call
        file = ws.root / caller
        text = file.read_text(encoding="utf-8")
        file.write_text(text.rstrip("\n") + f"\n{name}(" + ", ".join(["0"] * 40) + ")\n", encoding="utf-8")
        plants.append(Plant("too many arguments", caller, text.rstrip("\n").count("\n") + 1, "call-arguments"))
        touched |= {caller, target}
    # 4. an import of a module that does not exist
    path = next(p for p, *_ in reversed(imports) if p not in touched)
    file = ws.root / path
    text = file.read_text(encoding="utf-8")
    file.write_text(text.rstrip("\n") + "\nfrom .no_such_module import anything\n", encoding="utf-8")
    plants.append(Plant("missing module", path, text.rstrip("\n").count("\n") + 1, "unresolved-import"))
    return plants, touched | {path}


def _relative_imports(ws: Workspace) -> list[tuple[str, int, str, str]]:
    """(file, 0-based line, module, name) of one-line ``from .m import name`` statements, sorted."""
    found = []
    for path in sorted(p for p in ws.index.store.paths() if is_python(p) and "/tests/" not in f"/{p}"):
        text = ws.index.source_text(path) or ""
        for row in ws.index.imports_of(path):
            line_text = text.split("\n")[row.line - 1]
            if row.module.startswith(".") and row.name and row.name != "*" and row.targets and "(" not in line_text:
                if line_text.startswith("from ") and not row.alias:
                    found.append((path, row.line - 1, row.module, row.name))
    return found


def _removable_function(ws: Workspace, imports, skip_paths: set[str]):
    for importer, line, _module, name in imports:
        if importer in skip_paths or name.startswith("__"):
            continue
        for target in ws.index.resolve(importer, name):
            d = target.definition
            if d.kind != "function" or d.parent != -1 or target.path == importer or target.path in skip_paths:
                continue
            if len(ws.index.store.definitions_named(name, target.path)) == 1:  # not one of several overloads
                return importer, line, target.path, d
    return None


def _callable_import(ws: Workspace, skip_paths: set[str]) -> tuple[str, str, str] | None:
    for path in sorted(p for p in ws.index.store.paths() if is_python(p) and p not in skip_paths):
        tree = ast.parse(ws.index.source_text(path) or "")
        for statement in tree.body:
            if not isinstance(statement, ast.ImportFrom) or statement.level == 0:
                continue
            for alias in statement.names:
                name = alias.asname or alias.name
                targets = ws.index.resolve(path, name)
                if len(targets) != 1 or targets[0].path in skip_paths | {path}:
                    continue
                d = targets[0].definition
                decorated = d.start_line != d.name_line
                if d.kind == "function" and not decorated and "*" not in d.signature:
                    return path, name, targets[0].path
    return None


def _replace_on_line(ws: Workspace, path: str, line: int, old: str, new: str) -> None:
    file = ws.root / path
    lines = file.read_text(encoding="utf-8").split("\n")
    head, _, tail = lines[line].partition(" import ")
    lines[line] = head + " import " + tail.replace(old, new, 1)
    file.write_text("\n".join(lines), encoding="utf-8")


def _delete_lines(file: Path, start: int, end: int) -> None:
    lines = file.read_text(encoding="utf-8").split("\n")
    file.write_text("\n".join(lines[:start] + lines[end:]), encoding="utf-8")


def recall(root: Path, scratch: Path) -> dict:
    copy = scratch / f"planted-{root.name}"
    shutil.copytree(root, copy)
    with open_workspace(copy, scratch / f"index-planted-{root.name}") as ws:
        plants, touched = plant_errors(ws)
        ws.build_index()
        buffer_plant = _plant_in_buffer(ws, touched)
        if buffer_plant:
            plants.append(buffer_plant)
        results = []
        for plant in plants:
            found = [f for f in diagnose(ws, plant.path) if f.code == plant.code and f.range.start.line == plant.line]
            results.append({**plant.__dict__, "found": bool(found), "message": found[0].message if found else None})
    return {
        "package": root.name,
        "planted": len(results),
        "found": sum(r["found"] for r in results),
        "cases": results,
    }


def _plant_in_buffer(ws: Workspace, skip_paths: set[str]) -> Plant | None:
    """A function removed only in an open editor buffer of its module (unsaved): the overlay case."""
    removed = _removable_function(ws, _relative_imports(ws), skip_paths)
    if removed is None:
        return None
    importer, line, target, definition = removed
    lines = (ws.index.source_text(target) or "").split("\n")
    ws.index.update(target, "\n".join(lines[: definition.start_line - 1] + lines[definition.end_line :]))
    return Plant("removed function (unsaved buffer)", importer, line, "unknown-import-name")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--py", type=Path, default=Path("/tmp/eval-py"))
    parser.add_argument("--ts", type=Path, default=Path("/tmp/eval-ts"))
    args = parser.parse_args()
    roots = packages(args.py) + packages(args.ts)
    if not roots:
        raise SystemExit(f"no packages under {args.py} or {args.ts}: run ../shared/eval/prepare.py first")
    with tempfile.TemporaryDirectory() as scratch:
        fp = false_positives(roots, Path(scratch))
        per_package = [recall(root, Path(scratch)) for root in packages(args.py)]
    rec = {
        "planted": sum(r["planted"] for r in per_package),
        "found": sum(r["found"] for r in per_package),
        "packages": per_package,
    }
    rows = [
        (r["package"], f"{r['lines']:>7} lines  {r['findings']:>3} findings  {r['per_10k_lines']:>5} FP/10K")
        for r in fp["packages"]
    ]
    rows.append(("all", f"{fp['total_lines']:>7} lines  {fp['total_false_positives']:>3} FP  "
                 f"{fp['false_positives_per_10k_lines']} per 10K lines (goal <= 1)"))
    rows.append(("recall (planted errors)", f"{rec['found']} / {rec['planted']} found"))
    print_table("Diagnostics on unmodified released packages", rows)
    for finding in fp["findings"]:
        print(f"  {finding['package']}: {finding['path']}:{finding['line']} {finding['code']}: {finding['message']}")
    for case in (case for package in per_package for case in package["cases"]):
        print(f"  planted {case['kind']}: {case['path']}:{case['line'] + 1} {'found' if case['found'] else 'MISSED'}")
    print("wrote", save("diagnostics", {"false_positives": fp, "recall": rec}))


if __name__ == "__main__":
    main()
