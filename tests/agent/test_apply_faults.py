"""Applying a multi-file change under injected write failures: all files old or all new, never half.

The failures are injected where the kernel would report them (bench/write_faults_eval.py patches
mkstemp, os.write, fchmod, fsync, link, copy2 and replace to fail once, os.write after part of its
bytes landed); read-only files and folders are real (chmod).
"""

from __future__ import annotations

import errno
import os
import stat

import pytest

from agent import FileChange, Range, RefactorError, TextEdit, WorkspaceChange
from bench.write_faults_eval import (
    CREATED,
    ERRNOS,
    FILES,
    Injector,
    apply_module,
    enumerate_faults,
    injected,
    make_workspace,
    new_text,
    read_only_cases,
    reset,
    the_change,
)

WriteFailed = apply_module.WriteFailed


@pytest.fixture
def ws(tmp_path):
    workspace = make_workspace(tmp_path)
    yield workspace
    workspace.close()


def test_every_injected_failure_leaves_every_file_wholly_old_or_wholly_new(ws):
    # every failure point once: disk full with hard links, permission denied without (the bench runs both with both)
    verdicts = enumerate_faults(ws, plans=((False, (errno.ENOSPC,)), (True, (errno.EACCES,))))
    assert len(verdicts) >= 80
    broken = [vars(v) for v in verdicts if not v.survived]
    assert broken == []
    refused = {v.op for v in verdicts if v.outcome == "refused, all old"}
    assert {"mkstemp", "write", "fchmod", "fsync", "replace", "copy (no hard links)"} <= refused
    assert all(v.message.startswith("could not write ") for v in verdicts if v.outcome == "refused, all old")


def test_read_only_files_and_folders_are_refused_before_anything_is_written(ws):
    for verdict in read_only_cases(ws):
        assert verdict.survived, vars(verdict)
        assert "read-only" in verdict.message


def test_a_clean_apply_keeps_permission_bits_and_writes_through_symlinks(ws, tmp_path):
    reset(ws)
    os.symlink("main.py", ws.root / "app/alias.py")
    written = apply_module.apply_to_disk(ws, the_change())
    assert sorted(written) == sorted([*FILES, CREATED])
    for rel, (mode, _) in FILES.items():
        assert (ws.root / rel).read_text() == new_text(rel)
        assert stat.S_IMODE((ws.root / rel).stat().st_mode) == mode, rel
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((ws.root / CREATED).stat().st_mode) == 0o666 & ~umask
    assert (ws.root / "app/alias.py").is_symlink()
    linked = WorkspaceChange(
        "through a link", (FileChange("app/alias.py", (TextEdit(Range.of(0, 0, 0, 0), "# via\n"),)),)
    )
    apply_module.apply_to_disk(ws, linked)
    assert (ws.root / "app/alias.py").is_symlink() and (ws.root / "app/main.py").read_text().startswith("# via\n")
    assert not [p for p in ws.root.rglob("*") if p.name.endswith(apply_module.TEMP_SUFFIX)]


def test_a_file_whose_disk_text_is_not_what_the_change_was_computed_from_is_refused(ws):
    reset(ws)
    ws.index.update("app/config.py", "VALUE = 3  # unsaved in an editor\n")  # the change is computed against this
    with pytest.raises(RefactorError, match="app/config.py on disk differs from the text the change was computed"):
        apply_module.apply_to_disk(ws, the_change())
    ws.index.close_buffer("app/config.py")
    (ws.root / "app/config.py").write_bytes(b"VALUE = 3\n\xff\xfe not utf-8\n")
    with pytest.raises(RefactorError, match="app/config.py is not valid UTF-8"):
        apply_module.apply_to_disk(ws, the_change())
    assert all((ws.root / rel).read_text() == text for rel, (_, text) in FILES.items() if rel != "app/config.py")
    assert not (ws.root / CREATED).exists()


class TwiceFailingReplace(Injector):
    """The third replace fails (the commit of file 3), and so does the first restore after it."""

    def hit(self, op, target):
        if not self.inside(target) or op != "replace":
            return False
        self.calls[op] += 1
        return self.calls[op] in (3, 4)


def test_a_restore_that_fails_too_says_which_files_kept_their_old_text_aside(ws):
    reset(ws)
    injector = TwiceFailingReplace(ws.root, code=errno.EIO)
    with injected(injector), pytest.raises(WriteFailed) as raised:
        apply_module.apply_to_disk(ws, the_change())
    error = raised.value
    assert error.path == "bin/run.py" and error.unrestored == ["app/helpers.py"]
    assert error.restored == ["app/main.py"]
    assert "could not restore app/helpers.py" in str(error)
    kept = [p for p in (ws.root / "app").iterdir() if p.name.startswith(".helpers.py.")]
    assert len(kept) == 1 and kept[0].read_text() == FILES["app/helpers.py"][1]  # the old text, beside
    assert (ws.root / "app/main.py").read_text() == FILES["app/main.py"][1]


@pytest.mark.parametrize("code", ERRNOS)
def test_the_error_names_the_file_and_the_reason(ws, code):
    reset(ws)
    with injected(Injector(ws.root, "write", 1, code)), pytest.raises(WriteFailed) as raised:
        apply_module.apply_to_disk(ws, the_change())
    message = str(raised.value)
    assert message.startswith("could not write app/main.py: ") and errno.errorcode[code] in message
    assert message.endswith("nothing was changed")
