"""Rename a definition across the workspace, exactly: every site or nothing, validated in memory.

The sites come from ``occurrences.Finder``; the new name must be an identifier, no keyword, and
must not clash with what the touched scopes already bind or use. The resulting change is checked
before it is returned: every changed file still parses, and a scratch re-index finds as many
references to the new name as there were to the old one and none left to the old name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from indexer import StoredDefinition

from ..edits import FileChange, Position, Range, TextEdit, WorkspaceChange
from ..workspace import Workspace
from .errors import RefactorError
from .identifiers import check_identifier
from .occurrences import Finder, Site
from .overrides import override_family
from .scopes import binding_scope
from .target import find_target
from .text_sites import all_order_sites, annotation_sites, text_sites
from .validate import check_parses, proposed_texts, scratch_workspace

REFERENCE_KINDS = ("reference", "shorthand")


def rename(
    ws: Workspace,
    path: str,
    position: Position,
    new_name: str,
    versions: Mapping[str, int] | None = None,
    in_text: bool = False,
) -> WorkspaceChange:
    """The change renaming the symbol at ``position`` to ``new_name``; raises RefactorError when refused.
    ``in_text``: also the old name as a whole word in string literals and comments (opt-in)."""
    rel = ws.relative(path)
    finder = Finder(ws)
    _, target = find_target(finder, rel, position)
    old = target.definition.name
    check_identifier(target.path, new_name)
    if new_name == old:
        raise RefactorError(f"'{old}' already has that name")
    family = override_family(finder, target)
    try:
        sites = finder.sites(target, family=family)
    except OverflowError as error:
        raise RefactorError(f"too many occurrences to check: {error}") from None
    if (target.definition.parent != -1 or target.definition.kind == "method") and finder.unknown_receivers:
        where = ", ".join(f"{s.path}:{s.line + 1}" for s in finder.unknown_receivers[:5])
        raise RefactorError(
            f"'.{old}' is also used on objects whose class cannot be inferred ({where}"
            f"{', ...' if len(finder.unknown_receivers) > 5 else ''}); renaming only the known uses could break them"
        )
    check_clashes(finder, family, sites, new_name)
    check_go_visibility(target, sites, new_name)
    code = [s for s in sites if s.kind != "string"]
    replacements = [(s, f"{old}: {new_name}" if s.kind == "shorthand" else new_name) for s in code]
    replacements += all_order_sites(finder, [s for s in sites if s.kind == "string"], old, new_name)
    annotations = (
        annotation_sites(finder, family, old, {s.path for s in sites}) if target.definition.parent == -1 else []
    )
    replacements += [(s, new_name) for s in annotations]
    if in_text:
        taken = {(s.path, s.line, s.start) for s in sites + annotations}
        replacements += [(s, new_name) for s in text_sites(finder, old, taken)]
    change = change_from_sites(f"Rename '{old}' to '{new_name}'", replacements, versions)
    validate_rename(ws, change, target, sites, family)
    return change


def change_from_sites(
    label: str, replacements: list[tuple[Site, str]], versions: Mapping[str, int] | None
) -> WorkspaceChange:
    """One edit per (site, new text), grouped by file in path order."""
    by_path: dict[str, list[TextEdit]] = {}
    for site, text in sorted(replacements):
        by_path.setdefault(site.path, []).append(TextEdit(Range.of(site.line, site.start, site.line, site.end), text))
    versions = versions or {}
    files = tuple(FileChange(path, tuple(edits), versions.get(path)) for path, edits in sorted(by_path.items()))
    return WorkspaceChange(label, files)


def check_clashes(finder: Finder, family: list[StoredDefinition], sites: list[Site], new: str) -> None:
    """Refuse a name the touched scopes (every class of an override family) already bind, or that a
    touched file already uses in a way the rename would capture or shadow."""
    d = family[0].definition
    for member in family if d.parent != -1 else ():
        parent = finder.ws.index.definitions(member.path)[member.definition.parent]
        members = finder.ws.index.all_members(parent) if parent.definition.kind in ("class", "interface") else []
        siblings = [s for s in finder.ws.index.definitions(member.path) if s.definition.parent == parent.ord]
        for other in members + siblings:
            if other.definition.name == new:
                raise RefactorError(
                    f"'{new}' already exists in {parent.definition.name} ({other.path}:{other.definition.name_line})"
                )
    by_path: dict[str, list[Site]] = {}
    for site in sites:
        by_path.setdefault(site.path, []).append(site)
    for path, here in by_path.items():
        if d.parent == -1 and finder._binds(path, new):
            raise RefactorError(f"'{new}' is already defined or imported in {path}")
        for occurrence in finder.ws.index.references(new, [path]):
            line = occurrence.line - 1
            column = finder.lines.column(path, line, occurrence.col)
            node = finder.node_at(path, line, column, new)
            if node is None or finder._role(path, node) not in ("head", "shorthand"):
                continue
            scope = binding_scope(node, new, path)
            if scope is None and d.parent == -1:
                raise RefactorError(
                    f"'{new}' is already used in {path}:{line + 1}; the rename would change its meaning"
                )
            if scope is not None and any(_encloses(finder, scope, s) for s in here):
                raise RefactorError(
                    f"'{new}' is a local name at {path}:{line + 1} that would capture the renamed symbol"
                )


def check_go_visibility(target: StoredDefinition, sites: list[Site], new: str) -> None:
    """Go exports by capital letter: a rename that unexports a name other packages use breaks them."""
    if not target.path.endswith(".go") or new[:1].isupper() or not target.definition.name[:1].isupper():
        return
    package = posixpath.dirname(target.path)
    outside = sorted({s.path for s in sites if posixpath.dirname(s.path) != package})
    if outside:
        raise RefactorError(f"'{new}' would not be exported, but {', '.join(outside[:3])} use it from another package")


def _encloses(finder: Finder, scope, site: Site) -> bool:
    node = finder.node_at(
        site.path, site.line, site.start, finder.lines.line(site.path, site.line)[site.start : site.end]
    )
    return node is not None and scope.start_byte <= node.start_byte and node.end_byte <= scope.end_byte


def validate_rename(
    ws: Workspace,
    change: WorkspaceChange,
    target: StoredDefinition,
    sites: list[Site],
    family: list[StoredDefinition] | None = None,
) -> None:
    """RefactorError unless the renamed files parse and a re-index agrees with the edit."""
    texts = proposed_texts(ws, change)
    check_parses(texts)
    old = target.definition.name
    expected = sum(1 for s in sites if s.kind in REFERENCE_KINDS)
    with scratch_workspace(ws, {path: after for path, (_, after) in texts.items()}) as scratch:
        renamed = []
        for member in family or [target]:
            now = scratch.index.definitions(member.path)
            if member.ord >= len(now) or now[member.ord].definition.name == old:
                raise RefactorError(f"after the edit, {member.path} no longer defines the renamed symbol where it was")
            renamed.append(now[member.ord])
        finder = Finder(scratch)
        new_sites = finder.sites(renamed[0], family=renamed)
        found = sum(1 for s in new_sites if s.kind in REFERENCE_KINDS)
        if found != expected:
            raise RefactorError(
                f"validation failed: {expected} reference(s) to '{old}' but {found} to the new name after the edit"
            )
        missed = finder.leftovers(renamed[0], old, renamed)
        if missed:
            where = ", ".join(f"{s.path}:{s.line + 1}" for s in missed[:5])
            raise RefactorError(f"validation failed: '{old}' is still referenced at {where}")
