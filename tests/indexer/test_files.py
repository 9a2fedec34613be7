"""Bad input on disk never breaks indexing: binary, huge, non-UTF-8, symlink loops, unreadable."""

from __future__ import annotations

import os

import pytest

from indexer.files import walk
from indexer.store import FLAG_DECODE_REPLACED
from tests.conftest import write_tree


def test_walk_honours_gitignore_at_every_level_and_skips_vcs_folders(tmp_path):
    root = write_tree(
        tmp_path / "ws",
        {
            ".gitignore": "build/\n*.gen.py\n",
            "a.py": "x = 1\n",
            "b.gen.py": "x = 2\n",
            "build/out.py": "x = 3\n",
            "sub/.gitignore": "local.py\n!keep.gen.py\n",
            "sub/local.py": "x = 4\n",
            "sub/kept.py": "x = 5\n",
            ".git/hooks/x.py": "x = 6\n",
            "notes.txt": "not code",
            ".wholerepoignore": "secret/\n",
            "secret/key.py": "TOKEN = 'x'\n",
        },
    )
    assert [f.path for f in walk(root).files] == ["a.py", "sub/kept.py"]


def test_binary_undecodable_huge_and_unreadable_files(tmp_path, make_index):
    root = write_tree(
        tmp_path / "ws",
        {
            "good.py": "def ok():\n    return 1\n",
            "binary.py": b"\x00\x01\x02def nope(): pass\n",
            "latin1.py": "def caf\xe9():\n    return '\xe9'\n".encode("latin-1"),
            "huge.py": "x = 1\n" * 400_000,
            "locked.py": "def hidden():\n    pass\n",
        },
    )
    os.chmod(root / "locked.py", 0)
    try:
        index = make_index(root, max_file_size=1_000_000)
        stats = index.build()
    finally:
        os.chmod(root / "locked.py", 0o644)
    assert stats.skipped["too large"] == 1
    assert stats.skipped["binary"] == 1
    if os.geteuid() != 0:  # root reads anything, so the file is simply indexed
        assert stats.skipped["unreadable"] == 1
    latin = index.store.file("latin1.py")
    assert latin is not None and latin.flags & FLAG_DECODE_REPLACED
    assert [d.definition.kind for d in index.definitions("latin1.py")] == ["function"]
    assert index.store.file("binary.py") is None and index.store.file("huge.py") is None


def test_symlink_loops_and_links_leaving_the_workspace_are_not_followed(tmp_path, make_index):
    outside = write_tree(tmp_path / "outside", {"private.py": "SECRET = 1\n"})
    root = write_tree(tmp_path / "ws", {"pkg/mod.py": "def f():\n    pass\n"})
    os.symlink(root / "pkg", root / "pkg" / "loop")  # pkg/loop -> pkg
    os.symlink(root, root / "pkg" / "up")  # pkg/up -> the root itself
    os.symlink(outside, root / "escape")
    os.symlink(outside / "private.py", root / "private_link.py")
    os.symlink(root / "missing.py", root / "dangling.py")
    report = walk(root)
    assert [f.path for f in report.files] == ["pkg/mod.py"]
    assert report.skipped["link outside workspace"] == 2
    assert report.skipped["symlink loop"] == 2
    index = make_index(root)
    assert index.build().files == 1
    assert index.update(str(root / "escape" / "private.py"), "SECRET = 2\n") is False


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n\n", b"\xff\xfe\xfa" * 100, b"def (((((:\n" * 50, b"class A:\n" + b"  " * 10_000 + b"pass\n"],
)
def test_arbitrary_bytes_index_without_error(tmp_path, make_index, content):
    root = write_tree(tmp_path / "ws", {"weird.py": content})
    index = make_index(root)
    stats = index.build()
    assert stats.files + sum(stats.skipped.values()) >= 1
    assert index.store.integrity_ok()


def test_brackets_nested_thousands_deep_stay_out_on_disk_and_in_buffers(tmp_path, make_index):
    """Tree-sitter's queries are quadratic in depth and hold the GIL: such a file would freeze the server."""
    from indexer.files import MAX_NESTING, too_deeply_nested

    deep = "x = " + "(" * 30_000 + "1" + ")" * 30_000 + "\n"
    nested_data = "TABLE = " + "[" * 40 + "1" + "]" * 40 + "\n" + "f(" * 300 + ")" * 300 + "\n"
    assert too_deeply_nested(deep.encode())
    assert not too_deeply_nested(nested_data.encode())
    assert not too_deeply_nested((")" * 5_000 + "(" * MAX_NESTING).encode())  # closers first never count below 0
    root = write_tree(tmp_path / "ws", {"deep.py": deep, "fine.py": nested_data, "open.py": "def f():\n    pass\n"})
    index = make_index(root)
    stats = index.build()
    assert stats.skipped["too deeply nested"] == 1
    assert index.store.file("deep.py") is None and index.store.file("fine.py") is not None
    assert index.update("open.py", deep) is False  # the buffer stays out; the disk copy stays indexed
    assert [d.definition.name for d in index.definitions("open.py")] == ["f"]


def test_a_folder_swapped_for_a_link_out_after_its_files_were_read_is_refused_before_opening(tmp_path):
    """Every read resolves the whole path again: a folder replaced by a link out since an earlier read is
    refused before anything outside is opened, and a folder that has since come inside is read."""
    from indexer.files import OutsideRoot, read_inside

    root = write_tree(tmp_path / "ws", {"pkg/util.py": "INSIDE = 1\n"}).resolve()
    outside = write_tree(tmp_path / "outside", {"util.py": "SECRET = 1\n", "other.py": "SECRET = 2\n"}).resolve()
    assert read_inside(root, "pkg/util.py") == b"INSIDE = 1\n"
    os.rename(root / "pkg", root / "moved")
    (root / "pkg").symlink_to(outside, target_is_directory=True)
    for rel in ("pkg/util.py", "pkg/other.py"):
        with pytest.raises(OutsideRoot) as refused:
            read_inside(root, rel)
        assert "after the check" not in str(refused.value)

    (root / "pkg").unlink()  # the link out becomes a real folder inside again
    os.rename(root / "moved", root / "pkg")
    assert read_inside(root, "pkg/util.py") == b"INSIDE = 1\n"


def test_a_file_that_is_a_link_is_read_where_it_leads_inside_and_refused_before_opening_outside(tmp_path):
    from indexer.files import OutsideRoot, read_inside

    root = write_tree(tmp_path / "ws", {"pkg/util.py": "INSIDE = 1\n"}).resolve()
    outside = write_tree(tmp_path / "outside", {"secret.py": "SECRET = 1\n"}).resolve()
    (root / "alias.py").symlink_to(root / "pkg" / "util.py")
    (root / "pkg" / "out.py").symlink_to(outside / "secret.py")
    assert read_inside(root, "alias.py") == b"INSIDE = 1\n"
    with pytest.raises(OutsideRoot) as refused:
        read_inside(root, "pkg/out.py")
    assert "after the check" not in str(refused.value)
