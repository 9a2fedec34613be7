"""What every check of one file needs, computed once: its text, import rows, and (Python) syntax tree."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from functools import cached_property

from indexer import ImportRow

from ..edits import Range
from ..navigate import SourceLines
from ..workspace import Workspace
from .modules import ModuleFacts, is_python

MAX_STATEMENT_LINES = 60  # how far a parenthesised import statement is searched for its names


@dataclass
class FileContext:
    ws: Workspace
    path: str
    lines: SourceLines
    facts: ModuleFacts
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def text_lines(self) -> list[str]:
        return self.lines.lines(self.path)

    @cached_property
    def tree(self) -> ast.Module | None:
        """The Python syntax tree, or None (not Python, or it does not parse: nothing is checked)."""
        if not is_python(self.path):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse("\n".join(self.text_lines))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    @cached_property
    def rebound(self) -> set[str]:
        """Names the file binds other than by import: assignments, parameters, defs, loop targets."""
        names: set[str] = set()
        if self.tree is None:
            return names
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                names.add(node.name)
        return names

    def column(self, line: int, byte_col: int) -> int:
        return self.lines.column(self.path, line, byte_col)

    def word_range(self, start_line: int, word: str, after: str | None = None) -> Range:
        """The first whole-word ``word`` at or below 0-based ``start_line`` (past ``after`` on the
        first line when given); the statement's first line when it cannot be found."""
        lines = self.text_lines
        pattern = re.compile(rf"(?<![\w$.]){re.escape(word)}(?![\w$])")
        for line in range(start_line, min(start_line + MAX_STATEMENT_LINES, len(lines))):
            text = lines[line]
            offset = 0
            if line == start_line and after:
                found = text.find(after)
                offset = found + len(after) if found >= 0 else 0
            match = pattern.search(text, offset)
            if match:
                return Range.of(line, match.start(), line, match.end())
        width = len(lines[start_line]) if start_line < len(lines) else 0
        return Range.of(start_line, 0, start_line, width)
