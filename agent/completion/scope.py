"""Where the cursor sits in the code's structure: whether a multi-line suggestion is wanted, and
where a suggestion's scope ends.

A multi-line suggestion is wanted only on a blank line that opens an empty block: right after a
`def f():` / `if x {` line whose body is still to be written. Tree-sitter confirms that the opener is
code, not a colon inside a string or comment.
"""

from __future__ import annotations

import re
from functools import cache

from tree_sitter import Language, Parser

from indexer import language_for_path

BLOCK_OPENERS = (":", "{", "(", "[")
NOT_CODE = frozenset({"comment", "string", "string_content", "string_fragment", "template_string", "line_comment"})
_WORD = re.compile(r"[\w$]*$")


def line_indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def word_start(line_prefix: str) -> int:
    """The column where the identifier being typed starts (the cursor's column when none is)."""
    match = _WORD.search(line_prefix)
    return match.start() if match else len(line_prefix)


def wants_multiline(path: str, lines: list[str], line: int, column: int) -> bool:
    """True on a blank line right after a block opener whose block is still empty."""
    current = lines[line] if line < len(lines) else ""
    if current[:column].strip() or current[column:].strip():
        return False
    opener = _previous_code_line(lines, line)
    if opener is None:
        return False
    opener_line = lines[opener].rstrip()
    if not opener_line.endswith(BLOCK_OPENERS):
        return False
    following = next((text for text in lines[line + 1 :] if text.strip()), None)
    if following is not None and line_indent(following) > line_indent(opener_line):
        return False  # the block already has a body
    return _is_code(path, "\n".join(lines), opener, len(opener_line) - 1)


def _previous_code_line(lines: list[str], line: int) -> int | None:
    for number in range(min(line, len(lines)) - 1, -1, -1):
        if lines[number].strip():
            return number
    return None


@cache
def _parser(path_suffix: str) -> Parser | None:
    spec = language_for_path("x" + path_suffix)
    return Parser(Language(spec.grammar())) if spec else None


def _is_code(path: str, text: str, row: int, column: int) -> bool:
    """Whether the character at (row, column) is code rather than part of a string or comment."""
    suffix = path[path.rfind(".") :] if "." in path else ""
    parser = _parser(suffix)
    if parser is None:
        return True  # a language we do not parse: trust the text
    tree = parser.parse(text.encode("utf-8"))
    byte_column = len(text.split("\n")[row][:column].encode("utf-8"))
    node = tree.root_node.descendant_for_point_range((row, byte_column), (row, byte_column + 1))
    while node is not None:
        if node.type in NOT_CODE:
            return False
        node = node.parent
    return True
