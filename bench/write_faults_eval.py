"""Injected write failures across a multi-file apply: every file all old or all new, nothing left over.

A change over several files (different permission bits, a file large enough to take several writes,
a file created in a new folder) is applied with `agent.apply_to_disk` while one system call inside
the workspace fails: the n-th `mkstemp`, `os.write` (after writing part of its bytes, as a full
disk does), `os.fchmod`, `os.fsync`, `os.link`, `shutil.copy2` or `os.replace` raises ENOSPC or
EACCES. Every call of every kind is a failure point; the run is repeated on a filesystem "without
hard links" (every link fails, so old files are kept by copying). Then, with no injection, real
read-only files and folders (chmod) are refused. After each run: each file is wholly old or wholly
new, all files on the same side, permission bits kept, no temporary file left, and the error names
the file and the reason.

Run: ``python -m bench.write_faults_eval``; writes bench/results/write_faults.json.
tests/agent/test_apply_faults.py runs the same enumeration.
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import stat
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agent import FileChange, Range, RefactorError, TextEdit, Workspace, WorkspaceChange, WorkspaceSettings

from .report import print_table, save

# the module itself (the name `agent.refactor` is also the refactor function): its CHUNK is lowered for the run
apply_module = importlib.import_module("agent.refactor.apply")

OPS = ("mkstemp", "write", "fchmod", "fsync", "link", "copy", "replace")
ERRNOS = (errno.ENOSPC, errno.EACCES)
SMALL_CHUNK = 64 * 1024  # so the large file takes several os.write calls
FILES = {  # path -> (mode, text)
    "app/main.py": (0o644, "import helpers\n\nprint(helpers.VALUE)\n"),
    "app/helpers.py": (0o600, "VALUE = 1\n"),
    "bin/run.py": (0o755, "#!/usr/bin/env python3\nVALUE = 2\n"),
    "app/config.py": (0o640, "VALUE = 3\n"),
    # code, not comments: tree-sitter-python's scanner is quadratic in a block of comment lines
    "app/big.py": (0o664, "VALUE = 4\n" + "".join(f"padding_{n} = {n}  # a large file\n" for n in range(9000))),
}
CREATED = "app/fresh/new_module.py"


@dataclass
class Injector:
    """Fails the ``at``-th call (1-based) of ``op`` touching the workspace; counts every such call."""

    root: Path
    op: str | None = None
    at: int = 0
    code: int = errno.ENOSPC
    links_fail: bool = False  # a filesystem without hard links
    calls: Counter = field(default_factory=Counter)
    fired: bool = False

    def inside(self, target) -> bool:
        if isinstance(target, int):
            with _suppress_os():
                return os.readlink(f"/proc/self/fd/{target}").startswith(str(self.root))
            return False
        return str(target).startswith(str(self.root))

    def hit(self, op: str, target) -> bool:
        if not self.inside(target):
            return False
        self.calls[op] += 1
        if op == self.op and self.calls[op] == self.at:
            self.fired = True
            return True
        return False

    def fail(self) -> OSError:
        return OSError(self.code, os.strerror(self.code))


@contextmanager
def _suppress_os():
    try:
        yield
    except OSError:
        pass


@contextmanager
def injected(injector: Injector):
    """Patch the calls apply_to_disk makes; each fails once where the injector says."""
    real = {
        "mkstemp": tempfile.mkstemp,
        "write": os.write,
        "fchmod": os.fchmod,
        "fsync": os.fsync,
        "link": os.link,
        "copy": shutil.copy2,
        "replace": os.replace,
    }

    def mkstemp(*args, **kwargs):
        if injector.hit("mkstemp", kwargs.get("dir", "")):
            raise injector.fail()
        return real["mkstemp"](*args, **kwargs)

    def write(fd, data):
        if injector.hit("write", fd):
            real["write"](fd, bytes(data[: len(data) // 2]))  # part of it lands, as on a filling disk
            raise injector.fail()
        return real["write"](fd, data)

    def fchmod(fd, mode):
        if injector.hit("fchmod", fd):
            raise injector.fail()
        return real["fchmod"](fd, mode)

    def fsync(fd):
        if injector.hit("fsync", fd):
            raise injector.fail()
        return real["fsync"](fd)

    def link(source, target, **kwargs):
        if injector.hit("link", target) or (injector.links_fail and injector.inside(target)):
            raise OSError(errno.EXDEV if injector.op != "link" else injector.code, "no hard links here")
        return real["link"](source, target, **kwargs)

    def copy2(source, target, **kwargs):
        if injector.hit("copy", target):
            raise injector.fail()
        return real["copy"](source, target, **kwargs)

    def replace(source, target, **kwargs):
        if injector.hit("replace", target):
            raise injector.fail()
        return real["replace"](source, target, **kwargs)

    patches = [
        (tempfile, "mkstemp", mkstemp),
        (os, "write", write),
        (os, "fchmod", fchmod),
        (os, "fsync", fsync),
        (os, "link", link),
        (shutil, "copy2", copy2),
        (os, "replace", replace),
        (apply_module, "CHUNK", SMALL_CHUNK),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield injector
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


# -- the workspace and the change -----------------------------------------------------------------


def make_workspace(base: Path) -> Workspace:
    root = base / "ws"
    for rel, (mode, text) in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
    return Workspace(root.resolve(), WorkspaceSettings(index_dir=base / "index"))


def reset(ws: Workspace) -> None:
    """Every file back to its old text and mode; the created file and its folder gone."""
    for rel, (mode, text) in FILES.items():
        path = ws.root / rel
        path.parent.chmod(0o755)
        if path.exists():
            path.chmod(0o644)
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
    shutil.rmtree(ws.root / Path(CREATED).parent, ignore_errors=True)


def the_change() -> WorkspaceChange:
    files = tuple(
        FileChange(rel, (TextEdit(Range.of(0, 0, 0, 0), f"# changed by the refactor ({rel})\n"),)) for rel in FILES
    )
    created = FileChange(CREATED, (TextEdit(Range.of(0, 0, 0, 0), "CREATED = True\n"),), create=True)
    return WorkspaceChange("fault injection", files + (created,))


def new_text(rel: str) -> str:
    return f"# changed by the refactor ({rel})\n" + FILES[rel][1]


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- one run and its verdict ----------------------------------------------------------------------


@dataclass
class Verdict:
    op: str
    at: int
    code: str
    outcome: str  # "refused, all old" | "applied, all new" | a description of what broke
    half_written: int = 0
    mixed: bool = False
    leftovers: tuple[str, ...] = ()
    modes_changed: tuple[str, ...] = ()
    message: str = ""

    @property
    def survived(self) -> bool:
        return self.outcome in ("refused, all old", "applied, all new") and not (
            self.half_written or self.mixed or self.leftovers or self.modes_changed
        )


def run_one(ws: Workspace, injector: Injector, before: set[str]) -> Verdict:
    reset(ws)
    error = None
    with injected(injector):
        try:
            apply_module.apply_to_disk(ws, the_change())
        except RefactorError as raised:
            error = raised
    sides, half = [], 0
    for rel in FILES:
        text = (ws.root / rel).read_text(encoding="utf-8")
        sides.append("old" if text == FILES[rel][1] else "new" if text == new_text(rel) else "broken")
        half += sides[-1] == "broken"
    created = ws.root / CREATED
    sides.append(
        "new"
        if created.exists() and created.read_text() == "CREATED = True\n"
        else "old"
        if not created.exists()
        else "broken"
    )
    after = snapshot(ws.root) - ({CREATED, str(Path(CREATED).parent)} if sides[-1] == "new" else set())
    modes = tuple(rel for rel, (mode, _) in FILES.items() if stat.S_IMODE((ws.root / rel).stat().st_mode) != mode)
    code = errno.errorcode.get(injector.code, str(injector.code))
    verdict = Verdict(
        injector.op or "none",
        injector.at,
        code,
        "",
        half,
        len(set(sides)) > 1,
        tuple(sorted(after ^ before)),
        modes,
        str(error or ""),
    )
    if error is not None and set(sides) == {"old"}:
        named = any(rel in str(error) for rel in list(FILES) + [CREATED])
        verdict.outcome = "refused, all old" if named else f"refused without naming the file: {error}"
    elif error is None and set(sides) == {"new"}:
        verdict.outcome = "applied, all new"
    else:
        verdict.outcome = f"broken: {sides} error={error}"
    return verdict


def failure_points(ws: Workspace, links_fail: bool) -> Counter:
    """How many calls of each kind a clean apply makes inside the workspace."""
    counting = Injector(ws.root, links_fail=links_fail)
    verdict = run_one(ws, counting, snapshot_old(ws))
    if verdict.outcome != "applied, all new":
        raise RuntimeError(f"the clean apply failed: {verdict}")
    return counting.calls


def snapshot_old(ws: Workspace) -> set[str]:
    reset(ws)
    return snapshot(ws.root)


EVERY_PLAN = ((False, ERRNOS), (True, ERRNOS))  # (hard links fail, errnos): all of it


def enumerate_faults(ws: Workspace, plans=EVERY_PLAN) -> list[Verdict]:
    """Every failure point of every kind, with each errno of each plan, with and without hard links."""
    before = snapshot_old(ws)
    verdicts = []
    for links_fail, errnos in plans:
        calls = failure_points(ws, links_fail)
        for op in OPS:
            if links_fail and op == "link":
                continue  # every link fails already
            for at in range(1, calls[op] + 1):
                for code in errnos:
                    injector = Injector(ws.root, op, at, code, links_fail)
                    verdict = run_one(ws, injector, before)
                    if not injector.fired:
                        verdict.outcome = f"the fault never fired: {op} #{at}"
                    verdict.op = op + (" (no hard links)" if links_fail else "")
                    verdicts.append(verdict)
    return verdicts


def read_only_cases(ws: Workspace) -> list[Verdict]:
    """Real permission bits: a read-only file, then a read-only folder, among the targets."""
    before = snapshot_old(ws)
    verdicts = []
    for what, path in (("chmod 0o444 file", ws.root / "app/config.py"), ("chmod 0o555 folder", ws.root / "bin")):
        reset(ws)
        mode = stat.S_IMODE(path.stat().st_mode)
        error = None
        path.chmod(0o444 if path.is_file() else 0o555)
        try:
            apply_module.apply_to_disk(ws, the_change())
        except RefactorError as raised:
            error = raised
        finally:
            path.chmod(mode)
        untouched = all((ws.root / rel).read_text() == text for rel, (_, text) in FILES.items())
        untouched = untouched and not (ws.root / CREATED).exists()
        leftovers = tuple(sorted(snapshot(ws.root) ^ before))
        outcome = (
            "refused, all old"
            if error is not None and untouched and "EACCES" in str(error)
            else (f"broken: error={error} untouched={untouched}")
        )
        verdicts.append(Verdict(what, 0, "EACCES", outcome, leftovers=leftovers, message=str(error or "")))
    return verdicts


def run(base: Path) -> dict:
    ws = make_workspace(base)
    try:
        verdicts = enumerate_faults(ws) + read_only_cases(ws)
    finally:
        ws.close()
    outcomes = Counter(v.outcome if v.survived else "FAILED" for v in verdicts)
    return {
        "files_per_apply": len(FILES) + 1,
        "faults_injected": len(verdicts),
        "survived": sum(v.survived for v in verdicts),
        "half_written_files": sum(v.half_written for v in verdicts),
        "mixed_old_and_new": sum(v.mixed for v in verdicts),
        "leftover_files": sum(len(v.leftovers) for v in verdicts),
        "permission_bits_changed": sum(len(v.modes_changed) for v in verdicts),
        "outcomes": dict(outcomes),
        "failure_points_by_call": dict(Counter(v.op for v in verdicts)),
        "failures": [vars(v) for v in verdicts if not v.survived][:20],
        "example_message": next((v.message for v in verdicts if v.message), ""),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wholerepo-write-faults-") as scratch:
        figures = run(Path(scratch))
    rows = [(name, str(value)) for name, value in figures.items() if name != "failures"]
    print_table("Injected write failures across a multi-file apply", rows)
    print(f"  -> {save('write_faults', figures)}")


if __name__ == "__main__":
    main()
