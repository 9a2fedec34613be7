"""The ``wholerepo`` command line. Each subcommand parses arguments, calls agent/, and prints.

Errors about the user's input (a missing root, a file outside the workspace) are printed as one
line naming the input, with exit status 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent import BuildStats, Workspace, WorkspaceSettings


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        print(f"wholerepo: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wholerepo: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wholerepo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or update the index of a workspace")
    _add_workspace_options(index)
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.set_defaults(run=_cmd_index)

    symbols = commands.add_parser("symbols", help="search definitions by name")
    _add_workspace_options(symbols)
    symbols.add_argument("query")
    symbols.add_argument("--limit", type=int, default=30)
    symbols.add_argument("--json", action="store_true")
    symbols.set_defaults(run=_cmd_symbols)

    deps = commands.add_parser("deps", help="what a file imports and which files import it")
    _add_workspace_options(deps)
    deps.add_argument("file", help="path relative to ROOT (or absolute, inside ROOT)")
    deps.add_argument("--json", action="store_true")
    deps.set_defaults(run=_cmd_deps)

    demo = commands.add_parser("demo", help="index the Python standard library and show what was found")
    demo.add_argument("--root", type=Path, help="index this folder instead of the standard library")
    demo.set_defaults(run=_cmd_demo)
    return parser


def _add_workspace_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("root", type=Path, help="workspace root folder")
    command.add_argument("--index-dir", type=Path, help="where the index lives (default: a user cache folder)")
    command.add_argument("--max-file-size", type=int, default=1_000_000, help="skip files larger than this (bytes)")
    command.add_argument("--jobs", type=int, help="worker processes for indexing (default: every core)")
    command.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="also skip paths matching (gitignore syntax)"
    )


def _open(args: argparse.Namespace) -> Workspace:
    if not args.root.is_dir():
        raise UsageError(f"not a directory: {args.root}")
    settings = WorkspaceSettings(
        index_dir=args.index_dir, max_file_size=args.max_file_size, jobs=args.jobs, exclude=tuple(args.exclude)
    )
    return Workspace(args.root, settings)


def build_with_progress(workspace: Workspace) -> BuildStats:
    """Build the index with a tqdm bar on stderr (shown only on a terminal)."""
    from tqdm import tqdm

    with tqdm(desc="indexing", unit="file", file=sys.stderr, dynamic_ncols=True, leave=False, disable=None) as bar:

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.reset(total=total)
            bar.update(done - bar.n)

        return workspace.build_index(update)


def _cmd_index(args: argparse.Namespace) -> int:
    with _open(args) as workspace:
        stats = build_with_progress(workspace)
        summary = workspace.stats()
    if args.json:
        print(json.dumps({"build": _build_json(stats), "index": summary}, indent=2))
        return 0
    print(
        f"indexed {stats.files} files in {stats.seconds:.2f}s: {stats.parsed} parsed, "
        f"{stats.unchanged} unchanged, {stats.removed} removed"
    )
    print(
        f"{summary['definitions']} definitions, {summary['references']} references, "
        f"{summary['imports']} imports ({summary['resolved_imports']} resolved)"
    )
    if stats.skipped:
        print("skipped: " + ", ".join(f"{count} {reason}" for reason, count in sorted(stats.skipped.items())))
    print(f"index: {workspace.index_path} ({summary['index_bytes'] / 1e6:.1f} MB)")
    return 0


def _build_json(stats: BuildStats) -> dict:
    return {
        "files": stats.files,
        "parsed": stats.parsed,
        "unchanged": stats.unchanged,
        "removed": stats.removed,
        "skipped": dict(stats.skipped),
        "seconds": round(stats.seconds, 3),
    }


def _cmd_symbols(args: argparse.Namespace) -> int:
    with _open(args) as workspace:
        workspace.build_index()
        found = workspace.symbols(args.query, args.limit)
    if args.json:
        print(json.dumps([_definition_json(d) for d in found], indent=2))
        return 0
    for stored in found:
        d = stored.definition
        print(f"{stored.path}:{d.name_line}:{d.name_col + 1}  {d.kind:<9} {d.qualified_name}  {d.signature}")
    if not found:
        print(f"no definition matches {args.query!r}")
    return 0


def _definition_json(stored) -> dict:
    d = stored.definition
    return {
        "path": stored.path,
        "name": d.name,
        "qualified_name": d.qualified_name,
        "kind": d.kind,
        "start_line": d.start_line,
        "end_line": d.end_line,
        "signature": d.signature,
        "doc": d.doc,
    }


def _cmd_deps(args: argparse.Namespace) -> int:
    with _open(args) as workspace:
        workspace.build_index()
        try:
            rel = workspace.relative(str(args.file))
        except ValueError:
            raise UsageError(f"file is outside the workspace: {args.file}") from None
        if not workspace.is_indexed(rel):
            raise UsageError(f"not an indexed file of {args.root}: {args.file}")
        deps = workspace.dependencies(rel)
    if args.json:
        print(
            json.dumps(
                {
                    "path": deps.path,
                    "imports": [{"line": line, "module": m, "targets": list(t)} for line, m, t in deps.imports],
                    "importers": [{"path": p, "line": line} for p, line in deps.importers],
                },
                indent=2,
            )
        )
        return 0
    print(f"{deps.path} imports:")
    for line, module, targets in deps.imports:
        where = ", ".join(targets) if targets else "(outside the workspace)"
        print(f"  line {line:<5} {module:<40} -> {where}")
    print(f"{deps.path} is imported by {len({p for p, _ in deps.importers})} files:")
    for path, line in deps.importers:
        print(f"  {path}:{line}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.root)


if __name__ == "__main__":
    sys.exit(main())
