"""The corpus reader on a real folder tree: licences, duplicates, generated files, the held-out split."""

from __future__ import annotations

from pathlib import Path

from engine.train.sources import SourceFile, is_held_out, iter_sources

CODE = 'def f(x):\n    return x + 1\n\n\nclass Point:\n    """A point in the plane."""\n\n    x: float = 0.0\n'


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def install_dist(root: Path, name: str, licence_line: str, files: list[str]) -> None:
    """A real dist-info folder, as pip leaves it, owning `files`."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{licence_line}\n")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))


def test_reads_permissive_unique_handwritten_files(tmp_path):
    write(tmp_path, "good/mod.py", CODE)
    write(tmp_path, "good/copy.py", CODE)  # an exact duplicate counts once
    write(tmp_path, "good/crlf.py", CODE.replace("\n", "\r\n") + "# other\r\n")
    write(tmp_path, "good/tiny.py", "x = 1\n")  # too small to teach anything
    write(tmp_path, "good/minified.py", "x = [" + ", ".join(["1"] * 2000) + "]\n")
    write(tmp_path, "good/latin1.py", b"s = '\xe9'\n" * 20)
    write(tmp_path, "gplpkg/core.py", CODE + "# gpl\n")
    install_dist(tmp_path, "gplpkg", "License: GPL-3.0-or-later", ["gplpkg/core.py"])
    write(tmp_path, "mitpkg/core.py", CODE + "# mit\n")
    install_dist(tmp_path, "mitpkg", "Classifier: License :: OSI Approved :: MIT License", ["mitpkg/core.py"])
    write(tmp_path, "longlicence/core.py", CODE + "# long\n")
    long_text = "License: BSD. " + "Parts of the docs mention the GPL for comparison only. " * 5
    install_dist(tmp_path, "longlicence", long_text, ["longlicence/core.py"])
    write(tmp_path, "site-packages/other.py", CODE + "# another interpreter\n")

    sources = {s.path: s for s in iter_sources([tmp_path])}
    # the first of two identical files (name order) stays; GPL-owned, tiny, minified, non-UTF-8 and foreign
    # site-packages files do not
    assert set(sources) == {"good/copy.py", "good/crlf.py", "mitpkg/core.py", "longlicence/core.py"}
    assert "gplpkg/core.py" not in sources
    assert "\r" not in sources["good/crlf.py"].text
    assert sources["mitpkg/core.py"].package == "mitpkg"


def test_max_files_and_packages(tmp_path):
    for i in range(5):
        write(tmp_path, f"p/m{i}.py", CODE + f"# {i}\n")
    write(tmp_path, "top.py", CODE + "# top\n")
    sources = list(iter_sources([tmp_path], max_files=3))
    assert len(sources) == 3
    assert SourceFile("top.py", "").package == "stdlib" and SourceFile("a/b/c.py", "").package == "a"


def test_held_out_split_is_by_directory_and_stable():
    files = [SourceFile(f"d{i}/f{j}.py", "") for i in range(200) for j in range(3)]
    held = [f for f in files if is_held_out(f, 10.0)]
    assert 0 < len(held) < len(files)
    held_dirs = {f.directory for f in held}
    assert all(is_held_out(f, 10.0) == (f.directory in held_dirs) for f in files)
    assert held == [f for f in files if is_held_out(f, 10.0)]
