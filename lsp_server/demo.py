"""``make demo``: index a real codebase (by default this interpreter's standard library) and show
what the index knows about it, then drive the language server through a real client on a copy of a
standard-library package (lsp_server/demo_session.py). The index goes to a fresh temporary folder so
the time is real.
"""

from __future__ import annotations

import sysconfig
import tempfile
from pathlib import Path

from agent import Workspace, WorkspaceSettings

STDLIB_EXCLUDE = ("site-packages/", "dist-packages/")  # the standard library proper, not what pip added


def standard_library() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def run_demo(root: Path | None = None) -> int:
    from .cli import build_with_progress

    root = (root or standard_library()).resolve()
    print(f"wholerepo demo: indexing {root}")
    with tempfile.TemporaryDirectory(prefix="wholerepo-demo-") as index_dir:
        settings = WorkspaceSettings(index_dir=Path(index_dir), exclude=STDLIB_EXCLUDE)
        with Workspace(root, settings) as workspace:
            stats = build_with_progress(workspace)
            summary = workspace.stats()
            most_imported = workspace.most_imported(10)
            sample = _sample_question(workspace)
    print(f"\nindexed {stats.files} files in {stats.seconds:.2f}s ({stats.parsed} parsed)")
    print(f"index size on disk: {summary['index_bytes'] / 1e6:.1f} MB")
    print(
        f"{summary['definitions']:,} definitions, {summary['references']:,} references, "
        f"{summary['imports']:,} import rows ({summary['resolved_imports']:,} resolved inside the workspace)"
    )
    if stats.skipped:
        print("skipped: " + ", ".join(f"{count} {reason}" for reason, count in sorted(stats.skipped.items())))
    print("\nper language:")
    print(f"  {'language':<12}{'files':>8}{'symbols':>10}{'lines':>11}")
    for language, files, definitions, lines in summary["languages"]:
        print(f"  {language:<12}{files:>8}{definitions or 0:>10,}{lines or 0:>11,}")
    print("\nmost imported files:")
    for path, importers in most_imported:
        print(f"  {importers:>5} importers  {path}")
    print(f"\n{sample}")
    from .demo_session import run_session

    print("\n== a language-server session: a real client over stdio against `wholerepo serve`")
    return run_session(standard_library())


def _sample_question(workspace: Workspace) -> str:
    """One cross-file question answered from the index, to show it is more than counts."""
    found = workspace.symbols("OrderedDict", 1)
    if not found:
        return ""
    definition = found[0]
    dependents = workspace.dependents(definition.path)
    return (
        f"'{definition.definition.qualified_name}' is defined at {definition.path}:{definition.definition.name_line}"
        f" ({definition.definition.signature}); {len(dependents)} files import {definition.path}"
    )
