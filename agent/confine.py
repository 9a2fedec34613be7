"""Confinement: every path or URI that a client, the command line or a model names is checked here
before anything is read or written under it, so nothing outside the workspace root is touched.

Refused: `..` anywhere (also written `%2e%2e` in a URI, or with backslashes), `~`, NUL bytes,
absolute paths and file URIs outside the root, URIs of another scheme or naming a host other than
localhost, and paths whose real location (symlinks resolved at every level) leaves the root.
Percent-escapes are decoded exactly once. What is then read goes through `indexer.read_inside`,
which checks again after opening, so a symlink swapped in after this check yields nothing either.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from indexer import resolve_inside

LOCAL_HOSTS = ("", "localhost")


class OutsideWorkspace(ValueError):
    """A path or URI that leads outside the workspace root (or is not a path at all)."""


def confine(root: Path, path: str | os.PathLike[str]) -> str:
    """``path`` (absolute, or relative to the resolved ``root``) as a workspace-relative POSIX path.

    OutsideWorkspace, naming the input, for anything that leaves the root by its spelling or, once
    symlinks are resolved, by where it really is.
    """
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text or "\0" in text:
        raise OutsideWorkspace(f"not a path inside the workspace: {path!r}")
    if ".." in text.replace("\\", "/").split("/"):  # backslashes too: a Windows-style `..\\`
        raise OutsideWorkspace(f"outside the workspace ('..' is refused): {text}")
    if text.startswith("~"):
        raise OutsideWorkspace(f"outside the workspace ('~' is refused): {text}")
    rel = _relative_spelling(root, Path(os.path.normpath(text)), text)
    if rel != "." and resolve_inside(root, rel) is None:
        raise OutsideWorkspace(f"outside the workspace {root} (through a symlink): {text}")
    return rel


def _relative_spelling(root: Path, candidate: Path, text: str) -> str:
    if not candidate.is_absolute():
        return candidate.as_posix()
    if candidate.is_relative_to(root):
        return candidate.relative_to(root).as_posix()
    try:  # the root reached through another spelling of it (a symlinked parent folder)
        return candidate.resolve().relative_to(root).as_posix()
    except (ValueError, OSError, RuntimeError):
        raise OutsideWorkspace(f"outside the workspace {root}: {text}") from None


def path_of_uri(uri: str) -> str:
    """The local file path a `file:` URI names; OutsideWorkspace for other schemes or hosts."""
    if not isinstance(uri, str):
        raise OutsideWorkspace(f"not a URI: {uri!r}")
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise OutsideWorkspace(f"not a file URI: {uri}")
    if parts.netloc.lower() not in LOCAL_HOSTS:
        raise OutsideWorkspace(f"a file URI on another host ({parts.netloc}): {uri}")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise OutsideWorkspace(f"not an absolute file URI: {uri}")
    return path


def confine_uri(root: Path, uri: str) -> str:
    """The workspace-relative path of a document URI; OutsideWorkspace for anything else."""
    return confine(root, path_of_uri(uri))
