"""Editor buffers: the unsaved text that overlays the disk, reparsed and re-extracted incrementally.

The edit handed to tree-sitter is derived from the old and new text (common prefix and suffix),
so callers only pass whole texts and never translate protocol ranges into byte offsets. Only the
top-level statements an edit touched are re-extracted; everything before them is kept and
everything after is shifted by the change in line count.

Two ways to get the touched statements' syntax: in a language whose top-level statements parse
alone (``isolated_statements``) and a file without syntax errors, only those statements are parsed,
as a snippet; the buffer's tree then just records the edit (``tree.edit``) and catches up in one
incremental reparse when a later edit needs it. Otherwise the whole tree is reparsed incrementally
and the region comes from the edit and tree-sitter's changed ranges. When the touched region cannot
be cut cleanly, the whole file is extracted.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass

from tree_sitter import Point, Tree

from .extract import Extractor
from .model import Definition, ParsedFile
from .statements import (
    Region,
    Statement,
    adjacent,
    extend_to_next,
    line_count_of,
    spliced_statements,
    starts_lines,
    statements_of,
    touched_region,
    whole_lines,
)

MAX_KEPT_BUFFERS = 64


MAX_SNIPPET_TRIES = 3  # a snippet ending in a comment pulls in the statement below, at most this often


@dataclass(slots=True)
class Buffer:
    """One open buffer. When ``stale`` is set, ``tree`` was parsed from an earlier text, with every
    edit since then applied to it (ready for an incremental reparse), and ``stale`` spans the bytes
    of ``source`` those edits changed."""

    source: bytes
    tree: Tree
    stale: tuple[int, int] | None
    statements: list[Statement]  # the top-level statements of ``source``
    cuttable: bool  # ``source`` has no syntax errors and its top-level statements start lines
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
            buffer = _whole(tree, source, extractor.extract(tree, source))
        else:
            buffer = _update(previous, source, extractor)
        self._buffers[path] = buffer
        parsed = buffer.parsed
        while len(self._buffers) > MAX_KEPT_BUFFERS:
            self._buffers.popitem(last=False)
        return parsed

    def source(self, path: str) -> bytes | None:
        """The open buffer's text, or None when the path has no buffer."""
        buffer = self._buffers.get(path)
        return buffer.source if buffer is not None else None

    def forget(self, path: str) -> None:
        self._buffers.pop(path, None)


def _whole(tree: Tree, source: bytes, parsed: ParsedFile) -> Buffer:
    root = tree.root_node
    statements = statements_of(root)
    return Buffer(source, tree, None, statements, not root.has_error and starts_lines(source, statements), parsed)


def _update(previous: Buffer, source: bytes, extractor: Extractor) -> Buffer:
    edit = diff_range(previous.source, source)
    if edit is None:
        return previous
    old_tree = previous.tree
    old_tree.edit(
        start_byte=edit.start,
        old_end_byte=edit.old_end,
        new_end_byte=edit.new_end,
        start_point=point_at(previous.source, edit.start),
        old_end_point=point_at(previous.source, edit.old_end),
        new_end_point=point_at(source, edit.new_end),
    )
    if previous.cuttable and extractor.spec.isolated_statements:
        updated = _snippet_update(previous, source, edit, extractor)
        if updated is not None:
            return updated
    tree = extractor.parse(source, old_tree)
    touched = [(edit.start, edit.new_end)] + [(r.start_byte, r.end_byte) for r in old_tree.changed_ranges(tree)]
    if previous.stale is not None:  # text the tree had not seen: its changed ranges may miss it
        touched.append(_mapped(previous.stale, edit))
    region = _top_level_region(tree, source, min(a for a, _ in touched), max(b for _, b in touched))
    if region is None:
        return _whole(tree, source, extractor.extract(tree, source))
    fresh = extractor.extract(tree, source, region)
    line_delta = source.count(b"\n") - previous.source.count(b"\n")
    first_line = source.count(b"\n", 0, region[0]) + 1
    last_line_new = source.count(b"\n", 0, region[1]) + 1
    return _whole(tree, source, _splice(previous.parsed, fresh, first_line, last_line_new - line_delta, line_delta))


def _snippet_update(previous: Buffer, source: bytes, edit: ByteEdit, extractor: Extractor) -> Buffer | None:
    """Re-parse only the top-level statements the edit touched; None when that is not sound here
    (the snippet has syntax errors, could continue past its end, or may change the exports)."""
    old = previous.source
    delta = edit.new_end - edit.old_end
    lines = whole_lines(old, source, edit.start, edit.old_end, edit.new_end)
    start, old_end = (lines[0], lines[1]) if lines else (edit.start, edit.old_end)
    region: Region | None = touched_region(previous.statements, old, start, old_end, delta, lines is not None)
    marker = extractor.spec.exports_marker
    for _ in range(MAX_SNIPPET_TRIES):
        assert region is not None
        snippet = source[region.start : region.new_end]
        if marker is not None and (marker in snippet or marker in old[region.start : region.old_end]):
            return None
        if snippet.rstrip(b"\r\n").endswith(b"\\"):
            return None  # a line continuation would join the statement below
        tree = extractor.parse(snippet)
        root = tree.root_node
        fresh = statements_of(root, region.start)
        if root.has_error or not starts_lines(source, fresh):
            return None  # (an indented statement would join the one above it in the file)
        if fresh and fresh[-1].extra and region.stop < len(previous.statements):
            if adjacent(source, [*fresh, _shifted(previous.statements[region.stop], delta)], len(fresh) - 1):
                region = extend_to_next(previous.statements, old, region, delta)
                continue  # a comment now ends the snippet: it may be the doc of the statement below
        first_line = old.count(b"\n", 0, region.start) + 1
        parsed = _offset(extractor.extract(tree, snippet), first_line - 1, source, previous.parsed.exports)
        old_lines = line_count_of(old, region.start, region.old_end)
        line_delta = source.count(b"\n") - old.count(b"\n")
        spliced = _splice(previous.parsed, parsed, first_line, first_line + old_lines - 1, line_delta)
        statements = spliced_statements(previous.statements, region, fresh, delta)
        stale = (region.start, region.new_end)
        if previous.stale is not None:
            low, high = _mapped(previous.stale, edit)
            stale = (min(low, stale[0]), max(high, stale[1]))
        return Buffer(source, previous.tree, stale, statements, True, spliced)
    return None


def _mapped(span: tuple[int, int], edit: ByteEdit) -> tuple[int, int]:
    """A byte span of the old text carried over to the new one."""

    def moved(offset: int) -> int:
        if offset <= edit.start:
            return offset
        return edit.new_end if offset <= edit.old_end else offset + edit.new_end - edit.old_end

    return moved(span[0]), moved(span[1])


def _shifted(statement: Statement, delta: int) -> Statement:
    return Statement(statement.start + delta, statement.end + delta, statement.extra)


def _offset(parsed: ParsedFile, lines: int, source: bytes, exports: tuple[str, ...] | None) -> ParsedFile:
    """A snippet's extraction moved down by ``lines``, standing for the whole ``source``."""
    return ParsedFile(
        language=parsed.language,
        line_count=source.count(b"\n") + (0 if source.endswith(b"\n") else 1),
        definitions=[
            dataclasses.replace(
                d, start_line=d.start_line + lines, end_line=d.end_line + lines, name_line=d.name_line + lines
            )
            for d in parsed.definitions
        ],
        references={
            name: [value + lines if i % 2 == 0 else value for i, value in enumerate(flat)]
            for name, flat in parsed.references.items()
        },
        imports=[dataclasses.replace(i, line=i.line + lines) for i in parsed.imports],
        exports=exports,
        error_count=0,
    )


def _top_level_region(tree: Tree, source: bytes, low: int, high: int) -> tuple[int, int] | None:
    """Whole lines covering ``[low, high]`` and the top-level statements that overlap it (and the
    statement below when the last of them is a comment).

    None when a statement outside the region shares one of its lines (a clean cut is impossible).
    """
    children = tree.root_node.children
    inside = [i for i, child in enumerate(children) if child.end_byte >= low and child.start_byte <= high]
    if not inside:
        return None
    while children[inside[-1]].is_extra and inside[-1] + 1 < len(children):
        inside.append(inside[-1] + 1)  # a comment may be the doc of the statement below it
    start = source.rfind(b"\n", 0, min(low, children[inside[0]].start_byte)) + 1
    end = source.find(b"\n", max(high, children[inside[-1]].end_byte))
    end = len(source) if end < 0 else end
    before = children[inside[0] - 1] if inside[0] > 0 else None
    after = children[inside[-1] + 1] if inside[-1] + 1 < len(children) else None
    if (before is not None and before.end_byte > start) or (after is not None and after.start_byte <= end):
        return None
    return start, end


def _splice(old: ParsedFile, fresh: ParsedFile, first_line: int, last_old_line: int, delta: int) -> ParsedFile:
    """Old results outside the old region's lines (shifted after it) around the fresh region.

    Runs on every keystroke over the whole file's results, so what lies after the region is moved
    with plain constructors and whole-list operations rather than per-item ``dataclasses.replace``.
    """
    definitions = old.definitions
    before = [d for d in definitions if d.start_line < first_line]
    after_start = next((i for i, d in enumerate(definitions) if d.start_line > last_old_line), len(definitions))
    shift = len(before) + len(fresh.definitions) - after_start
    spliced = ParsedFile(
        language=fresh.language,
        line_count=fresh.line_count,
        definitions=before
        + [dataclasses.replace(d, parent=d.parent + len(before) if d.parent >= 0 else -1) for d in fresh.definitions]
        + _moved_definitions(definitions[after_start:], delta, shift),
        imports=[i for i in old.imports if i.line < first_line]
        + fresh.imports
        + [dataclasses.replace(i, line=i.line + delta) for i in old.imports if i.line > last_old_line],
        exports=fresh.exports,
        error_count=fresh.error_count,
    )
    references: dict[str, list[int]] = {}
    for name, flat in old.references.items():
        lines = flat[::2]
        if max(lines) < first_line:
            references[name] = flat  # all before the region: unchanged
        elif min(lines) > last_old_line:
            moved = flat.copy()
            moved[::2] = [line + delta for line in lines]
            references[name] = moved
        else:
            kept = []
            for line, col in zip(lines, flat[1::2], strict=True):
                if line < first_line:
                    kept += (line, col)
                elif line > last_old_line:
                    kept += (line + delta, col)
            if kept:
                references[name] = kept
    for name, flat in fresh.references.items():
        known = references.get(name)
        references[name] = flat if known is None else known + flat
    spliced.references = references
    return spliced


def _moved_definitions(definitions: list[Definition], delta: int, parent_shift: int) -> list[Definition]:
    """Definitions below an edit, ``delta`` lines further down and their parents re-indexed."""
    if not delta and not parent_shift:
        return definitions
    return [
        Definition(
            d.name,
            d.qualified_name,
            d.kind,
            d.start_line + delta,
            d.end_line + delta,
            d.name_line + delta,
            d.name_col,
            d.signature,
            d.doc,
            d.parent + parent_shift if d.parent >= 0 else -1,
        )
        for d in definitions
    ]
