"""Builds ``_scan`` next to this file: ``python -m indexer.native.build``.

The extension compiles in the tree-sitter runtime (``lib.c``) of the installed py-tree-sitter
release, whose sdist is fetched from the package index with pip into a cache outside the
repository (never committed). Exit status 0 when built, 1 with the reason on stderr otherwise;
a failed build leaves any earlier module in place and the indexer then runs in pure Python.
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import platformdirs

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_scan.c"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-std=c11", "-fPIC", "-fvisibility=hidden", "-shared"]


class BuildError(Exception):
    """Why the extension could not be built."""


def module_path() -> Path:
    return HERE / f"_scan{sysconfig.get_config_var('EXT_SUFFIX')}"


def tree_sitter_version() -> str:
    return importlib.metadata.version("tree-sitter")


def runtime_sources(version: str) -> Path:
    """The ``core/lib`` folder of the tree-sitter sdist ``version``, downloaded once and cached."""
    cached = Path(platformdirs.user_cache_dir("wholerepo")) / "tree-sitter-sdist" / version
    if (cached / "src" / "lib.c").is_file():
        return cached
    with tempfile.TemporaryDirectory(prefix="wholerepo-ts-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--no-binary", ":all:", "--no-deps", "--no-build-isolation", "-d", scratch,
                   f"tree-sitter=={version}"]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        archives = list(Path(scratch).glob("tree_sitter-*.tar.gz"))
        if done.returncode != 0 or len(archives) != 1:
            raise BuildError(f"pip download tree-sitter=={version} failed: {done.stderr.strip()[-500:]}")
        unpacked = Path(scratch) / "lib"
        prefix = f"tree_sitter-{version}/tree_sitter/core/lib/"
        with tarfile.open(archives[0]) as archive:
            for member in archive.getmembers():  # plain files under core/lib only, written by us
                relative = PurePosixPath(member.name[len(prefix) :])
                inside = not relative.is_absolute() and ".." not in relative.parts
                if member.name.startswith(prefix) and member.isfile() and inside:
                    target = unpacked.joinpath(*relative.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
        if not (unpacked / "src" / "lib.c").is_file():
            raise BuildError(f"the tree-sitter {version} sdist has no core/lib/src/lib.c")
        cached.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(unpacked, cached)  # another build may have cached it meanwhile: fine
        except OSError:
            if not (cached / "src" / "lib.c").is_file():
                raise
    return cached


def build() -> Path:
    """Compile the extension; the module appears whole or not at all."""
    version = tree_sitter_version()
    runtime = runtime_sources(version)
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    target = module_path()
    partial = target.with_name(f".{target.stem}.{os.getpid()}.so")  # ignored by git like the module
    command = [
        *compiler, *CFLAGS, f'-DTS_VERSION="{version}"',
        f"-I{sysconfig.get_paths()['include']}", f"-I{runtime / 'include'}", f"-I{runtime / 'src'}",
        str(SOURCE), "-o", str(partial),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise BuildError(f"no C compiler ({compiler[0]}): {error}") from error
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BuildError(f"compiling failed:\n{done.stderr.strip()[-2000:]}")
    if done.stderr.strip():
        print(done.stderr.strip(), file=sys.stderr)  # warnings: shown, not fatal
    os.replace(partial, target)
    return target


def main() -> int:
    try:
        path = build()
    except (BuildError, OSError, subprocess.SubprocessError) as error:
        print(f"indexer.native: not built ({error}); indexing runs in pure Python", file=sys.stderr)
        return 1
    print(f"indexer.native: built {path.name} against tree-sitter {tree_sitter_version()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
