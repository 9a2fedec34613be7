"""Editor buffers: the unsaved text that overlays the disk, reparsed incrementally.

The edit handed to tree-sitter is derived from the old and new text (common prefix and suffix),
so callers only pass whole texts and never have to translate protocol ranges into byte offsets.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from tree_sitter import Point, Tree

from .extract import Extractor

MAX_KEPT_TREES = 64


@dataclass(slots=True)
class Buffer:
    source: bytes
    tree: Tree


@dataclass(frozen=True, slots=True)
class ByteEdit:
    start: int
    old_end: int
    new_end: int


def diff_range(old: bytes, new: bytes) -> ByteEdit | None:
    """The single byte range that turns ``old`` into ``new``; None when they are equal."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = _common_prefix(old, new, limit)
    suffix_limit = limit - prefix
    suffix = _common_suffix(old, new, suffix_limit)
    return ByteEdit(prefix, len(old) - suffix, len(new) - suffix)


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    low, high = 0, limit  # invariant: a[:low] == b[:low]
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    low, high = 0, limit  # invariant: the last `low` bytes match
    len_a, len_b = len(a), len(b)
    while low < high:
        middle = (low + high + 1) // 2
        if a[len_a - middle : len_a - low] == b[len_b - middle : len_b - low]:
            low = middle
        else:
            high = middle - 1
    return low


def point_at(source: bytes, offset: int) -> Point:
    """Row and byte column of a byte offset, as tree-sitter counts them."""
    row = source.count(b"\n", 0, offset)
    line_start = source.rfind(b"\n", 0, offset) + 1
    return Point(row, offset - line_start)


class BufferTrees:
    """The last parsed tree of each open buffer, so the next change reparses incrementally."""

    def __init__(self) -> None:
        self._buffers: OrderedDict[str, Buffer] = OrderedDict()

    def parse(self, path: str, source: bytes, extractor: Extractor) -> Tree:
        previous = self._buffers.pop(path, None)
        tree = self._reparse(previous, source, extractor) if previous else extractor.parse(source)
        self._buffers[path] = Buffer(source, tree)
        while len(self._buffers) > MAX_KEPT_TREES:
            self._buffers.popitem(last=False)
        return tree

    def forget(self, path: str) -> None:
        self._buffers.pop(path, None)

    @staticmethod
    def _reparse(previous: Buffer, source: bytes, extractor: Extractor) -> Tree:
        edit = diff_range(previous.source, source)
        if edit is None:
            return previous.tree
        tree = previous.tree
        tree.edit(
            start_byte=edit.start,
            old_end_byte=edit.old_end,
            new_end_byte=edit.new_end,
            start_point=point_at(previous.source, edit.start),
            old_end_point=point_at(previous.source, edit.old_end),
            new_end_point=point_at(source, edit.new_end),
        )
        return extractor.parse(source, tree)
