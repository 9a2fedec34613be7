"""The confinement helper on real folders and symlinks: what it refuses, what it lets through, and the
read that re-checks after opening, raced against a symlink flipped between a file inside and one outside."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from agent import Workspace, WorkspaceSettings
from agent.confine import OutsideWorkspace, confine, confine_uri, path_of_uri
from agent.privacy import is_sensitive_path
from indexer import OutsideRoot, read_inside

SECRET = "CANARY-7d1e-OUTSIDE"


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "pkg" / "util.py").write_text("def helper():\n    return 1\n")
    (outside / "secret.py").write_text(f"S = '{SECRET}'\n")
    (root / "alias.py").symlink_to(root / "pkg" / "util.py")  # a link that stays inside: fine
    (root / "inner").symlink_to(root / "pkg", target_is_directory=True)
    (root / "out.py").symlink_to(outside / "secret.py")
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    return root.resolve(), outside.resolve()


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.py",
        "pkg/../../outside/secret.py",
        "pkg/..",
        "..\\outside\\secret.py",
        "~/secret.py",
        "~",
        "out.py",
        "outdir/secret.py",
        "outdir/new_file.py",  # a file to create, through a link out
        "outdir",
        "a\0b.py",
        "",
    ],
)
def test_spellings_and_links_that_leave_the_root_are_refused(tree, path):
    root, _ = tree
    with pytest.raises(OutsideWorkspace, match="outside the workspace|not a path"):
        confine(root, path)


def test_absolute_paths_are_kept_to_the_root(tree):
    root, outside = tree
    assert confine(root, str(root / "pkg" / "util.py")) == "pkg/util.py"
    for path in (outside / "secret.py", root.parent / "ws2" / "x.py", Path("/etc/passwd"), root / "outdir" / "x.py"):
        with pytest.raises(OutsideWorkspace):
            confine(root, str(path))


def test_links_and_new_files_that_stay_inside_are_allowed(tree):
    root, _ = tree
    assert confine(root, "alias.py") == "alias.py"
    assert confine(root, "inner/util.py") == "inner/util.py"
    assert confine(root, "pkg/new_module.py") == "pkg/new_module.py"
    assert confine(root, "./pkg//util.py") == "pkg/util.py"


def test_the_root_reached_through_a_symlinked_parent_still_counts(tree, tmp_path):
    root, _ = tree
    (tmp_path / "via").symlink_to(root.parent, target_is_directory=True)
    assert confine(root, str(tmp_path / "via" / "ws" / "pkg" / "util.py")) == "pkg/util.py"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("file://evil.example{root}/pkg/util.py", "another host"),
        ("file://10.0.0.1{root}/pkg/util.py", "another host"),
        ("https://example.com{root}/pkg/util.py", "not a file URI"),
        ("untitled:Untitled-1", "not a file URI"),
        ("file://{root}/%2e%2e/outside/secret.py", r"'\.\.'"),
        ("file://{root}/pkg/%2E%2E/%2e%2E/outside/secret.py", r"'\.\.'"),
        ("file://{root}/outdir/secret.py", "symlink"),
        ("file://{root}/out.py", "symlink"),
        ("file:pkg/util.py", "not an absolute"),
    ],
)
def test_uris_other_hosts_schemes_and_escapes_are_refused(tree, uri, why):
    root, _ = tree
    with pytest.raises(OutsideWorkspace, match=why):
        confine_uri(root, uri.format(root=root))


def test_file_uris_decode_escapes_once(tree):
    root, _ = tree
    (root / "with space.py").write_text("x = 1\n")
    assert confine_uri(root, f"file://localhost{root}/with%20space.py") == "with space.py"
    assert confine_uri(root, (root / "pkg" / "util.py").as_uri()) == "pkg/util.py"
    assert path_of_uri("file:///a/%252e%252e/b") == "/a/%2e%2e/b"  # a folder named %2e%2e, not `..`


def test_read_inside_reads_files_of_the_root_and_refuses_links_out(tree):
    root, _ = tree
    assert read_inside(root, "alias.py").startswith(b"def helper")
    for rel in ("out.py", "outdir/secret.py", "../outside/secret.py", str(root / "pkg" / "util.py")):
        with pytest.raises(OutsideRoot):
            read_inside(root, rel)


def test_a_fifo_swapped_in_is_refused_without_blocking(tree):
    root, _ = tree
    os.mkfifo(root / "pipe.py")
    with pytest.raises(OSError, match="not a regular file"):
        read_inside(root, "pipe.py")


def test_a_link_flipped_between_check_and_open_never_yields_the_outside_bytes(tree):
    """A thread keeps swapping `flip.py` (atomically, by rename) between a link to a file inside and one
    to the secret outside, while reads race it: a read returns the inside file or is refused, never the
    secret. Refusals after opening are the swaps that landed between the check and the open."""
    root, outside = tree
    inside_target, outside_target = root / "pkg" / "util.py", outside / "secret.py"
    (root / "flip.py").symlink_to(inside_target)
    stop = threading.Event()

    def flipper() -> None:
        targets = (outside_target, inside_target)
        n = 0
        while not stop.is_set():
            temporary = root / f".flip-{n}"
            temporary.symlink_to(targets[n % 2])
            os.replace(temporary, root / "flip.py")
            n += 1

    thread = threading.Thread(target=flipper)
    thread.start()
    outcomes = {"read": 0, "refused before opening": 0, "refused after opening": 0, "vanished": 0}
    try:
        for _ in range(3000):
            try:
                data = read_inside(root, "flip.py")
            except OutsideRoot as error:
                outcomes["refused after opening" if "after" in str(error) else "refused before opening"] += 1
                continue
            except FileNotFoundError:
                outcomes["vanished"] += 1
                continue
            assert SECRET.encode() not in data
            assert data.startswith(b"def helper")
            outcomes["read"] += 1
    finally:
        stop.set()
        thread.join()
    print(outcomes)
    assert outcomes["read"] > 0 and outcomes["refused before opening"] > 0


def test_credential_files_are_sensitive_in_any_letter_case():
    assert all(is_sensitive_path(p) for p in (".ENV", "conf/.Env.Local", "KEYS/ID_RSA", "Server.PEM", "Secrets.py"))
    assert not is_sensitive_path("environment.py")


def test_the_workspace_keeps_credential_files_out_of_the_index_and_says_why(tmp_path):
    root = tmp_path / "ws"
    (root / "build").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "app.py").write_text("def main():\n    return 1\n")
    (root / "Secrets.py").write_text("TOKEN = 'x'\n")
    (root / ".env").write_text("TOKEN=abc\n")
    (root / "private" / "notes.py").write_text("x = 1\n")
    (root / "build" / "gen.py").write_text("y = 2\n")
    (root / "generated.py").write_text("z = 3\n")
    (root / ".gitignore").write_text("build/\n")
    (root / ".wholerepoignore").write_text("private/\n")
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "ix", exclude=("generated.py",))) as ws:
        ws.build_index()
        assert sorted(ws.index.store.paths()) == ["app.py"]
        excluded, cut = ws.excluded()
    assert not cut
    assert excluded == [
        (".env", "credential file"),
        ("Secrets.py", "credential file"),
        ("build/", ".gitignore"),
        ("generated.py", "exclude setting"),
        ("private/", ".wholerepoignore"),
    ]


def test_an_ignored_file_open_in_the_editor_stays_out_of_the_index_and_of_prompts(tmp_path):
    root = tmp_path / "ws"
    (root / "private").mkdir(parents=True)
    (root / "app.py").write_text("def main():\n    return 1\n")
    (root / "private" / "notes.py").write_text("def private_helper():\n    return 'private-canary'\n")
    (root / ".wholerepoignore").write_text("private/\n")
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "ix")) as ws:
        ws.build_index()
        assert not ws.index.update("private/notes.py", "def opened_buffer():\n    pass\n")
        assert not ws.index.update(".env", "TOKEN=abcdefgh123\n")
        assert ws.index.source_text("private/notes.py") is None and ws.index.source_text("app.py") is not None
        assert ws.symbols("opened_buffer") == [] and ws.symbols("private_helper") == []
        assert ws.is_excluded("private/notes.py") and ws.is_excluded("config/.ENV") and ws.is_excluded("../x.py")
        assert not ws.is_excluded("app.py")
