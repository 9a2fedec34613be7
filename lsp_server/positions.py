"""Columns at the wire: the client counts UTF-16 or UTF-8 code units (negotiated at initialize),
agent/ counts code points. Every position crossing the boundary goes through here."""

from __future__ import annotations

from lsprotocol import types as t

from agent import Position, Range

UNITS = {
    t.PositionEncodingKind.Utf8: lambda ch: len(ch.encode("utf-8")),
    t.PositionEncodingKind.Utf16: lambda ch: 2 if ord(ch) > 0xFFFF else 1,
    t.PositionEncodingKind.Utf32: lambda ch: 1,
}


def _width(encoding: str):
    return UNITS.get(encoding, UNITS[t.PositionEncodingKind.Utf16])


def column_to_agent(line: str, units: int, encoding: str) -> int:
    """Code points before ``units`` code units of ``line`` (clamped to the line)."""
    width, counted = _width(encoding), 0
    for index, ch in enumerate(line):
        if counted >= units:
            return index
        counted += width(ch)
    return len(line)


def column_to_wire(line: str, column: int, encoding: str) -> int:
    width = _width(encoding)
    return sum(width(ch) for ch in line[:column])


def position_to_agent(lines: list[str], position: t.Position, encoding: str) -> Position:
    line = lines[position.line] if position.line < len(lines) else ""
    return Position(position.line, column_to_agent(line.rstrip("\r\n"), position.character, encoding))


def position_to_wire(lines: list[str], position: Position, encoding: str) -> t.Position:
    line = lines[position.line] if position.line < len(lines) else ""
    return t.Position(position.line, column_to_wire(line, position.column, encoding))


def range_to_wire(lines: list[str], span: Range, encoding: str) -> t.Range:
    return t.Range(position_to_wire(lines, span.start, encoding), position_to_wire(lines, span.end, encoding))


def range_to_agent(lines: list[str], span: t.Range, encoding: str) -> Range:
    return Range(position_to_agent(lines, span.start, encoding), position_to_agent(lines, span.end, encoding))
