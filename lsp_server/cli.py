"""The ``wholerepo`` command line. Each subcommand parses arguments, calls agent/, and prints.

Errors about the user's input (a missing root, a file outside the workspace) are printed as one
line naming the input, with exit status 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import agent
from agent import BuildStats, Workspace, WorkspaceSettings

from .arguments import positive_int as _positive_int
from .engine_commands import add_engine_command


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

    pack = commands.add_parser("pack", help="the context a completion at a position would get")
    _add_workspace_options(pack)
    pack.add_argument("--pos", required=True, metavar="FILE:LINE:COL", help="1-based; FILE relative to ROOT")
    pack.add_argument("--budget", type=_positive_int, required=True, help="tokens for the packed context")
    pack.add_argument("--buffer", type=Path, help="the editor's unsaved text of FILE (overrides the disk copy)")
    pack.add_argument("--strategy", default="default", help="default, or a baseline: bm25, jaccard, imports")
    pack.add_argument("--tokenizer", default="deepseek", help="deepseek, estimate, or a tokenizer.json path")
    pack.add_argument("--json", action="store_true")
    pack.set_defaults(run=_cmd_pack)

    evaluate = commands.add_parser("eval-context", help="recall of gold definitions within token budgets")
    evaluate.add_argument("cases", type=Path, help="cases JSONL (format: shared/eval/README.md)")
    evaluate.add_argument("--budget", type=_positive_int, action="append", help="repeatable; default 2048 8192")
    evaluate.add_argument("--strategy", action="append", help="repeatable; default: every strategy")
    evaluate.add_argument("--tokenizer", default="deepseek", help="deepseek, estimate, or a tokenizer.json path")
    evaluate.add_argument("--out", type=Path, default=Path("eval-context.json"), help="where the JSON goes")
    evaluate.add_argument("--index-dir", type=Path, help="index folder base (default: a user cache folder)")
    evaluate.set_defaults(run=_cmd_eval_context)

    demo = commands.add_parser("demo", help="index the Python standard library and show what was found")
    demo.add_argument("--root", type=Path, help="index this folder instead of the standard library")
    demo.set_defaults(run=_cmd_demo)

    serve = commands.add_parser("serve", help="run the language server (editors start this)")
    transport = serve.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    transport.add_argument("--tcp", metavar="[HOST:]PORT", help="listen on TCP instead (host: 127.0.0.1 unless named)")
    serve.add_argument("--log-file", type=Path, help="write the server's log here (stderr stays quiet)")
    serve.set_defaults(run=_cmd_serve)

    for name, target_help, run in (
        ("rename", ("NEW_NAME", "the new name"), "_cmd_rename"),
        ("move", ("TARGET_FILE", "the module to move the definition to, relative to ROOT"), "_cmd_move"),
    ):
        refactor = commands.add_parser(name, help=f"{name} the symbol at FILE:LINE:COL across the workspace")
        _add_workspace_options(refactor)
        refactor.add_argument("position", metavar="FILE:LINE:COL", help="1-based; FILE relative to ROOT")
        refactor.add_argument("target", metavar=target_help[0], help=target_help[1])
        refactor.add_argument("--apply", action="store_true", help="write the change (default: show the diff)")
        refactor.add_argument("--json", action="store_true", help="print the edits as JSON")
        if name == "rename":
            refactor.add_argument(
                "--in-text", action="store_true", help="also rename the name as a whole word in strings and comments"
            )
        refactor.set_defaults(run=globals()[run])

    add_engine_command(commands)
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


def _tokenizer(spec: str):
    from agent import TokenizerError, load_tokenizer

    try:
        return load_tokenizer(spec)
    except TokenizerError as error:
        raise UsageError(str(error)) from None


def _parse_position(text: str) -> tuple[str, int, int]:
    path, _, rest = text.rpartition(":")
    path, _, line = path.rpartition(":")
    try:
        return path, int(line), int(rest)
    except ValueError:
        raise UsageError(f"--pos must be FILE:LINE:COL (1-based), not {text!r}") from None


def _cmd_pack(args: argparse.Namespace) -> int:
    from agent import UnknownStrategy

    path, line, col = _parse_position(args.pos)
    buffer = None
    if args.buffer is not None:
        try:
            buffer = args.buffer.read_bytes().decode("utf-8", "replace")
        except OSError as error:
            raise UsageError(f"cannot read --buffer {args.buffer}: {error.strerror}") from None
    tokenizer = _tokenizer(args.tokenizer)
    with _open(args) as workspace:
        build_with_progress(workspace)
        try:
            pack = workspace.pack(path, line, col, args.budget, tokenizer, buffer=buffer, strategy=args.strategy)
        except (ValueError, FileNotFoundError, UnknownStrategy) as error:
            raise UsageError(str(error)) from None
        excluded, _ = workspace.excluded()
    if args.json:
        kept_out = [{"path": path, "reason": why} for path, why in excluded]
        print(json.dumps({**pack.to_json(), "excluded": kept_out}, indent=2))
        return 0
    print(f"{pack.tokens} of {pack.budget} tokens in {len(pack.items)} items ({pack.strategy}, {tokenizer.name})")
    for item in pack.items:
        print(f"  {item.path}:{item.start_line}-{item.end_line}  {item.tokens:>5}  {item.reason}")
    window = pack.window
    print(f"cursor window {window.path}:{window.start_line}-{window.end_line} ({window.tokens} tokens)")
    return 0


def _cmd_eval_context(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from agent import STRATEGIES, WorkspaceSettings, evaluate, load_cases

    try:
        cases = load_cases(args.cases)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read cases {args.cases}: {error}") from None
    missing = sorted({str(case.root) for case in cases if not case.root.is_dir()})
    if missing:
        raise UsageError(f"workspace roots missing (run shared/eval/prepare.py first): {', '.join(missing[:3])}")
    strategies = args.strategy or list(STRATEGIES)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise UsageError(f"unknown strategy {unknown[0]!r}; known: {', '.join(STRATEGIES)}")
    budgets = args.budget or [2048, 8192]
    tokenizer = _tokenizer(args.tokenizer)
    settings = WorkspaceSettings(index_dir=args.index_dir)
    with tqdm(total=len(cases), desc="cases", file=sys.stderr, leave=False, disable=None) as bar:
        report = evaluate(cases, budgets, strategies, tokenizer, settings, progress=bar.update)
    result = report.to_json()
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"recall@budget on {len(cases)} cases from {args.cases} (tokens: {result['tokens']})")
    variants = sorted({case.attributes["variant"] for case in cases if case.attributes["variant"]})
    header = f"{'strategy':<10} {'budget':>7} {'all':>6}" + "".join(f" {v:>8}" for v in variants)
    print(header)
    for strategy, per_budget in result["strategies"].items():
        for budget, row in per_budget.items():
            cells = "".join(f" {row.get('variant', {}).get(v, 0):>8.3f}" for v in variants)
            print(f"{strategy:<10} {budget:>7} {row['recall']:>6.3f}{cells}")
    print(f"wrote {args.out}")
    return 0


def _cmd_rename(args: argparse.Namespace) -> int:
    return _run_refactor(
        args, lambda ws, path, position: agent.rename(ws, path, position, args.target, in_text=args.in_text)
    )


def _cmd_move(args: argparse.Namespace) -> int:
    return _run_refactor(args, lambda ws, path, position: agent.move_definition(ws, path, position, args.target))


def _run_refactor(args: argparse.Namespace, make) -> int:
    """Compute a refactor, print it (diff or JSON), and write it with --apply."""
    path, line, col = _parse_position(args.position)
    if line < 1 or col < 1:
        raise UsageError(f"LINE and COL are 1-based, not {args.position!r}")
    with _open(args) as workspace:
        build_with_progress(workspace)
        try:
            change = make(workspace, path, agent.Position(line - 1, col - 1))
            written = agent.apply_to_disk(workspace, change) if args.apply else []
            diff = agent.unified_diff(workspace, change) if not args.apply else ""
        except (agent.RefactorError, ValueError) as error:
            raise UsageError(str(error)) from None
    if args.json:
        files = [
            {
                "path": f.path,
                "create": f.create,
                "edits": [
                    {"range": [e.range.start.line, e.range.start.column, e.range.end.line, e.range.end.column],
                     "new_text": e.new_text}
                    for e in f.edits
                ],
            }
            for f in change.files
        ]
        print(json.dumps({"label": change.label, "files": files, "applied": bool(written)}, indent=2))
    else:
        print(f"{change.label}: {change.edit_count} edit(s) in {len(change.files)} file(s)")
        print(diff if not args.apply else "\n".join(f"wrote {path}" for path in written), end="" if diff else "\n")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    if args.tcp is not None and not args.tcp.rpartition(":")[2].isdigit():
        raise UsageError(f"--tcp must be [HOST:]PORT, not {args.tcp!r}")
    host = args.tcp.rpartition(":")[0] if args.tcp else ""
    if host and not agent.is_loopback_host(host):
        print(
            f"wholerepo: warning: listening on {host}, not loopback: other machines can connect and read the "
            "workspace through the server. Leave the host out to listen on 127.0.0.1 only.",
            file=sys.stderr,
        )
    return serve(args.tcp, args.log_file)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.root)


if __name__ == "__main__":
    sys.exit(main())
