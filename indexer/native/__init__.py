"""The compiled tree scanner, used when it is built and fits the installed tree-sitter.

``_scan`` reads py-tree-sitter's Tree and Query objects directly (never changing them) and carries
its own copy of the tree-sitter runtime, so it is only trusted when built against the very
py-tree-sitter release installed (it records that version) and when a first tree reads back the
same through it as through py-tree-sitter (``Scanner.fits``). Otherwise ``load()`` is None and
extraction runs in pure Python, with one log line saying why. Build it with
``python -m indexer.native.build``.
"""

from __future__ import annotations

import importlib.metadata
import logging
from functools import cache
from types import ModuleType

from tree_sitter import Language, Node, Query, Tree

from .scanner import Scanner

__all__ = ["Scanner", "load", "scanner_for"]

log = logging.getLogger(__name__)


@cache
def load() -> ModuleType | None:
    """The built ``_scan`` module, or None (not built, or built for another tree-sitter)."""
    try:
        from . import _scan
    except ImportError as error:
        log.info("native scanner not built (%s): extraction runs in pure Python", error)
        return None
    installed = importlib.metadata.version("tree-sitter")
    if _scan.TREE_SITTER_VERSION != installed:
        log.warning(
            "native scanner built for tree-sitter %s, %s installed: extraction runs in pure Python"
            " (rebuild with python -m indexer.native.build)",
            _scan.TREE_SITTER_VERSION,
            installed,
        )
        return None
    _scan.bind(Tree, Query, Node)
    return _scan


def scanner_for(language: Language, query: str, ignored: frozenset[str]) -> Scanner | None:
    """A scanner for one language's query (``ignored``: names never recorded as references), or
    None where the pure-Python path must run."""
    module = load()
    return Scanner.build(module, language, query, ignored) if module is not None else None
