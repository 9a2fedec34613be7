"""The symbol a refactor starts from: the definition the identifier at a position denotes."""

from __future__ import annotations

from dataclasses import dataclass

from indexer import StoredDefinition

from ..edits import Position, Range
from ..workspace import Workspace
from .errors import RefactorError
from .occurrences import Finder

RENAMABLE_LANGUAGES = (".py", ".pyi", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".go")


@dataclass(frozen=True)
class RenameTarget:
    """The identifier under the cursor (its range in the file) and the name it spells."""

    range: Range
    name: str


def prepare_rename(ws: Workspace, path: str, position: Position) -> RenameTarget | None:
    """The identifier rename would start from; None when the cursor is on no renamable symbol."""
    try:
        rel = ws.relative(path)
        token, _ = find_target(Finder(ws), rel, position)
    except RefactorError:
        return None
    return RenameTarget(Range.of(token.line, token.start, token.line, token.end), token.name)


def find_target(finder: Finder, rel: str, position: Position):
    """(token, definition) at a position; RefactorError saying why when there is no single one."""
    if not rel.endswith(RENAMABLE_LANGUAGES):
        raise RefactorError(f"rename supports Python, TypeScript/JavaScript and Go files, not {rel}")
    if finder.ws.index.source_text(rel) is None:
        raise RefactorError(f"not a file of the workspace: {rel}")
    token, found = finder.definitions_at(rel, position.line, position.column)
    if token is None:
        raise RefactorError(f"no identifier at {rel}:{position.line + 1}:{position.column + 1}")
    unique = list({(d.path, d.ord): d for d in found}.values())
    if not unique:
        raise RefactorError(
            f"'{token.name}' at {rel}:{position.line + 1} is not a definition of the workspace "
            "(a local variable, a parameter, or something defined outside the workspace)"
        )
    if len(unique) > 1:
        places = ", ".join(f"{d.path}:{d.definition.name_line}" for d in unique[:5])
        raise RefactorError(f"'{token.name}' is ambiguous here ({places}); rename from its definition")
    target: StoredDefinition = unique[0]
    if not target.path.endswith(RENAMABLE_LANGUAGES):
        raise RefactorError(f"'{token.name}' is defined in {target.path}, a language rename does not cover")
    return token, target
