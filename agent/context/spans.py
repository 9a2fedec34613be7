"""Line spans of a definition worth packing: its header (signature and docstring) or all of it.

The index keeps signatures normalised to one line, so the header's extent is found in the file's
lines: walk from the name line until as many non-blank characters as the signature has are
consumed, then add the docstring's lines when the definition has one.
"""

from __future__ import annotations

from indexer import Definition

MAX_DOC_LINES = 8
KEPT_HEADERS = 20_000


class HeaderEnds:
    """header_end, remembered per definition. The answer reads only the lines from the name line to
    a docstring's furthest possible end, so it stands while those are the same: in the same list
    (FileLines keeps one list per file content), or equal in a newer one (the file being typed
    in, changed elsewhere). A pack asks about the same few hundred headers every time."""

    def __init__(self) -> None:
        self._ends: dict[tuple[Definition, bool], tuple[list[str], list[str], int, int]] = {}

    def end(self, lines: list[str], definition: Definition, with_doc: bool = True) -> int:
        key = (definition, with_doc)
        kept = self._ends.get(key)
        if kept is not None:
            kept_lines, region, length, end = kept
            if kept_lines is lines or (_read_region(lines, definition, end) == (region, length)):
                return end
        end = header_end(lines, definition, with_doc)
        if len(self._ends) >= KEPT_HEADERS:
            self._ends = {}  # start again rather than track recency: a pack needs a few hundred
        self._ends[key] = (lines, *_read_region(lines, definition, end), end)
        return end


def _read_region(lines: list[str], definition: Definition, end: int) -> tuple[list[str], int]:
    """The lines header_end may read for an answer of ``end``, and the file length as far as it matters."""
    furthest = end + 1 + MAX_DOC_LINES
    return lines[definition.name_line - 1 : furthest], min(len(lines), furthest + 1)


def header_end(lines: list[str], definition: Definition, with_doc: bool = True) -> int:
    """The last line (1-based) of the definition's signature, and of its docstring when asked."""
    wanted = sum(1 for ch in definition.signature if not ch.isspace())
    line = definition.name_line
    seen = 0
    while line <= definition.end_line and line <= len(lines):
        text = lines[line - 1]
        if line == definition.name_line:
            text = text[max(0, _signature_start(text, definition)) :]
        seen += sum(1 for ch in text if not ch.isspace())
        if seen >= wanted:
            break
        line += 1
    end = min(line, definition.end_line)
    if with_doc and definition.doc and _doc_follows(lines, end, definition):
        end = min(_docstring_end(lines, end + 1), definition.end_line)
    return max(end, definition.start_line)


def _docstring_end(lines: list[str], first: int) -> int:
    """The line closing the docstring that opens on 1-based line ``first`` (at most MAX_DOC_LINES on)."""
    opening = lines[first - 1].lstrip().lstrip("rRbBuU")
    quote = opening[:3]
    if quote in opening[3:]:
        return first
    for line in range(first + 1, min(first + MAX_DOC_LINES, len(lines)) + 1):
        if quote in lines[line - 1]:
            return line
    return min(first + MAX_DOC_LINES, len(lines))


def _signature_start(text: str, definition: Definition) -> int:
    """Where the signature starts on the name line: its first word (`def`, `class`, `function`...)."""
    first_word = definition.signature.split(" ", 1)[0].split("(", 1)[0]
    found = text.find(first_word) if first_word else -1
    return found if 0 <= found <= definition.name_col else definition.name_col


def _doc_follows(lines: list[str], end: int, definition: Definition) -> bool:
    """Python-style docstrings sit after the signature; JSDoc/Javadoc comments sit before it."""
    return end < definition.end_line and end < len(lines) and lines[end].lstrip()[:3] in ('"""', "'''", 'r""', "r'''")


def clip(start: int, end: int, lines: int) -> tuple[int, int]:
    return max(1, start), max(1, min(end, lines))
