"""Editor buffers: the unsaved text that overlays the disk, reparsed and re-extracted incrementally.

The edit handed to tree-sitter is derived from the old and new text (common prefix and suffix),
so callers only pass whole texts and never translate protocol ranges into byte offsets. After the
incremental reparse, only the top-level statements the edit (or tree-sitter's changed ranges)
touched are re-extracted; everything before them is kept and everything after is shifted by the
change in line count. When the touched region cannot be cut cleanly, the whole file is extracted.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

from tree_sitter import Point, Tree

from .extract import Extractor
from .model import ParsedFile

MAX_KEPT_BUFFERS = 64


@dataclass(slots=True)
class Buffer:
    source: bytes
    tree: Tree
    parsed: ParsedFile


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
    suffix = _common_suffix(old, new, limit - prefix)
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


class Buffers:
    """The last text, tree and extraction of each open buffer, for incremental updates."""

    def __init__(self) -> None:
        self._buffers: OrderedDict[str, Buffer] = OrderedDict()

    def extract(self, path: str, source: bytes, extractor: Extractor) -> ParsedFile:
        previous = self._buffers.pop(path, None)
        if previous is None:
            tree = extractor.parse(source)
            parsed = extractor.extract(tree, source)
        else:
            tree, parsed = _update(previous, source, extractor)
        self._buffers[path] = Buffer(source, tree, parsed)
        while len(self._buffers) > MAX_KEPT_BUFFERS:
            self._buffers.popitem(last=False)
        return parsed

    def source(self, path: str) -> bytes | None:
        """The open buffer's text, or None when the path has no buffer."""
        buffer = self._buffers.get(path)
        return buffer.source if buffer is not None else None

    def forget(self, path: str) -> None:
        self._buffers.pop(path, None)


def _update(previous: Buffer, source: bytes, extractor: Extractor) -> tuple[Tree, ParsedFile]:
    edit = diff_range(previous.source, source)
    if edit is None:
        return previous.tree, previous.parsed
    old_tree = previous.tree
    old_tree.edit(
        start_byte=edit.start,
        old_end_byte=edit.old_end,
        new_end_byte=edit.new_end,
        start_point=point_at(previous.source, edit.start),
        old_end_point=point_at(previous.source, edit.old_end),
        new_end_point=point_at(source, edit.new_end),
    )
    tree = extractor.parse(source, old_tree)
    touched = [(edit.start, edit.new_end)] + [(r.start_byte, r.end_byte) for r in old_tree.changed_ranges(tree)]
    region = _top_level_region(tree, source, min(a for a, _ in touched), max(b for _, b in touched))
    if region is None:
        return tree, extractor.extract(tree, source)
    fresh = extractor.extract(tree, source, region)
    line_delta = source.count(b"\n") - previous.source.count(b"\n")
    first_line = source.count(b"\n", 0, region[0]) + 1
    last_line_new = source.count(b"\n", 0, region[1]) + 1
    return tree, _splice(previous.parsed, fresh, first_line, last_line_new - line_delta, line_delta)


def _top_level_region(tree: Tree, source: bytes, low: int, high: int) -> tuple[int, int] | None:
    """Whole lines covering ``[low, high]`` and the top-level statements that overlap it.

    None when a statement outside the region shares one of its lines (a clean cut is impossible).
    """
    children = tree.root_node.children
    inside = [i for i, child in enumerate(children) if child.end_byte >= low and child.start_byte <= high]
    if not inside:
        return None
    start = source.rfind(b"\n", 0, min(low, children[inside[0]].start_byte)) + 1
    end = source.find(b"\n", max(high, children[inside[-1]].end_byte))
    end = len(source) if end < 0 else end
    before = children[inside[0] - 1] if inside[0] > 0 else None
    after = children[inside[-1] + 1] if inside[-1] + 1 < len(children) else None
    if (before is not None and before.end_byte > start) or (after is not None and after.start_byte <= end):
        return None
    return start, end


def _splice(old: ParsedFile, fresh: ParsedFile, first_line: int, last_old_line: int, delta: int) -> ParsedFile:
    """Old results outside the old region's lines (shifted after it) around the fresh region."""
    definitions = old.definitions
    before = [d for d in definitions if d.start_line < first_line]
    after_start = next((i for i, d in enumerate(definitions) if d.start_line > last_old_line), len(definitions))
    shift = len(before) + len(fresh.definitions) - after_start
    spliced = ParsedFile(
        language=fresh.language,
        line_count=fresh.line_count,
        definitions=before
        + [dataclasses.replace(d, parent=d.parent + len(before) if d.parent >= 0 else -1) for d in fresh.definitions]
        + [
            dataclasses.replace(
                d,
                start_line=d.start_line + delta,
                end_line=d.end_line + delta,
                name_line=d.name_line + delta,
                parent=d.parent + shift if d.parent >= 0 else -1,
            )
            for d in definitions[after_start:]
        ],
        imports=[i for i in old.imports if i.line < first_line]
        + fresh.imports
        + [dataclasses.replace(i, line=i.line + delta) for i in old.imports if i.line > last_old_line],
        exports=fresh.exports,
        error_count=fresh.error_count,
    )
    references: dict[str, list[int]] = {}
    for name, flat in old.references.items():
        kept = []
        for line, col in zip(flat[::2], flat[1::2], strict=True):
            if line < first_line:
                kept += (line, col)
            elif line > last_old_line:
                kept += (line + delta, col)
        if kept:
            references[name] = kept
    for name, flat in fresh.references.items():
        references.setdefault(name, []).extend(flat)
    spliced.references = references
    return spliced
