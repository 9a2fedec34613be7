"""Source 1: definitions of the names used at and around the cursor, resolved through imports.

Ranking is by where a name is seen, nearest to what the user is typing first:

0. the expression at the cursor (`Foo(`, `mod.func(`, `client.send(`, or every member of `client.`);
1. other names on the cursor's line;
2. imported names the buffer never uses — an import nobody uses yet is about to be used;
3. names in the enclosing definition, by distance from the cursor;
4. names elsewhere in the buffer, by distance;
5. names that resolve only by a workspace-wide search (not imported, not local), by distance.

Receivers are typed locally (`self.x`, annotations, constructor calls) through the index, so that
`client.send(` brings `Client.send` from `client = Client(...)`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from indexer import Definition, ImportRow, Index, StoredDefinition

from ..cursor import CursorExpression, NameUse, chain_heads, cursor_expression, line_names, names_in_lines
from ..deadline import Deadline
from ..spans import HeaderEnds
from ..types import Candidate, Cursor
from .files import FileLines
from .lookups import IndexLookups

TIER_CURSOR, TIER_LINE, TIER_UNUSED_IMPORT, TIER_SCOPE, TIER_FILE, TIER_GLOBAL = range(6)
TIER_REASONS = {
    TIER_CURSOR: "used at the cursor",
    TIER_LINE: "used on the cursor's line",
    TIER_UNUSED_IMPORT: "imported but not used yet",
    TIER_SCOPE: "used in the enclosing definition",
    TIER_FILE: "used in this file",
    TIER_GLOBAL: "a name in this file, found by workspace search",
}
BELOW_CURSOR_WEIGHT = 2  # a name below the cursor counts as twice as far as one above it
MAX_UNBOUND_CHAINS = 150
MAX_RECEIVER_INFERENCES = 8
MEMBER_LISTING_LIMIT = 60
MODULE_KINDS = frozenset({"module"})
KEPT_RESULTS = 64
KEPT_CANDIDATES = 20_000
# a half-typed statement can reshape the file's definitions and the next keystroke restore them
KEPT_EXACT_RESOLUTIONS = 4

Resolution = tuple[list[StoredDefinition], str, int]  # definitions, how found, receiver inferences spent


@dataclass(frozen=True)
class _OffLine:
    """What the lines other than the cursor's say (the same for every keystroke on that line)."""

    uses: list[_Use]  # each name's nearest use (by tier, then distance), import lines left out
    last_parts: frozenset[str]  # the last part of every dotted name
    heads: frozenset[str] = frozenset()  # the first part of every name in ``uses``


class _Use(NamedTuple):
    """A name's use, placed: what a search asks of each name, worked out once per cursor line."""

    chain: str
    head: str
    tier: int
    distance: int
    line: int


class UsesAround:
    """The names of a buffer's lines other than the cursor's, kept while only the cursor's line changes.

    Two levels: the names themselves (a function of the other lines alone) and their order, which
    also depends on the enclosing definition and the import lines. A keystroke that reshapes the
    file's definitions (`c` ending a body, `class X(Y):` starting one) moves the enclosing
    definition but no other line, so only the sort is done again, not the scan of every line."""

    def __init__(self) -> None:
        self._kept: tuple[tuple, _OffLine] | None = None
        self._names: tuple[tuple, tuple[list[NameUse], frozenset[str]]] | None = None
        self._lock = threading.Lock()

    def around(self, search: _Search, lines: list[str], import_lines: frozenset[int]) -> _OffLine:
        key = (search.receiver_text, search.cursor.line, search.enclosing_span, import_lines)
        with self._lock:
            kept = self._kept
        if kept is not None and kept[0] == key:
            return kept[1]
        uses, last_parts = self._names_off_line(search, lines)
        placed = search.placed(search.sorted_uses_off_line(uses, import_lines))
        found = _OffLine(placed, last_parts, frozenset(use.head for use in placed))
        with self._lock:
            self._kept = (key, found)
        return found

    def _names_off_line(self, search: _Search, lines: list[str]) -> tuple[list[NameUse], frozenset[str]]:
        """Every name on the other lines (with its distance from the cursor's line), and the last
        part of every dotted name there."""
        row = search.cursor.line
        key = (search.receiver_text, row)
        with self._lock:
            kept = self._names
        if kept is not None and kept[0] == key:
            return kept[1]
        others = lines[: row - 1] + lines[row:]
        uses = names_in_lines(lines[: row - 1], 1, row) + names_in_lines(lines[row:], row + 1, row)
        found = (uses, frozenset(chain.rsplit(".", 1)[-1] for line in others for chain in line_names(line)))
        with self._lock:
            self._names = (key, found)
        return found


class KeptResolutions:
    """What each name chain resolved to, kept while nothing the resolution read has changed.

    Most answers read only the other files and the cursor file's imports (the lookup state's
    loose key) and hold on while the user types anywhere in the file, a new definition's name
    included, as long as the name's head is not (now) one of the file's own names. The others
    (the file's own definitions in the answer, or a receiver typed from the buffer) are kept under
    the exact key: every definition of the file, the buffer outside the cursor's line and the
    cursor's line (the enclosing definition), all of which stand while the user types inside a
    line (a few such states are kept: a half-typed statement can change the definitions and the
    next keystroke change them back). So the ~200 names of the other lines are resolved about
    once per line, not once per keystroke."""

    def __init__(self) -> None:
        self._loose: tuple[tuple, dict[tuple, Resolution]] = ((), {})
        self._exact: OrderedDict[tuple, dict[tuple, Resolution]] = OrderedDict()
        self._lock = threading.Lock()

    def kept_for(self, loose: tuple, exact: tuple) -> tuple[dict[tuple, Resolution], dict[tuple, Resolution]]:
        with self._lock:
            if self._loose[0] != loose:
                self._loose = (loose, {})
            answers = self._exact.setdefault(exact, {})
            self._exact.move_to_end(exact)
            while len(self._exact) > KEPT_EXACT_RESOLUTIONS:
                self._exact.popitem(last=False)
            return self._loose[1], answers


class _Ranked(NamedTuple):
    """Ordered by tier, then distance, then when it was found (``sequence`` is unique)."""

    tier: int
    distance: int
    sequence: int
    definition: StoredDefinition
    reason: str
    header_only: bool = False


class KeptCandidates:
    """The candidate made of each ranked definition, kept while the definition row and its
    file's lines are the very objects it was made from (answers kept by the lookups and a file's
    lines kept per content are): a pack turns a few hundred definitions into candidates, most of
    them the same as at the previous keystroke."""

    def __init__(self) -> None:
        self._kept: dict[tuple, tuple[StoredDefinition, list[str], Candidate]] = {}

    def get(self, key: tuple, stored: StoredDefinition, lines: list[str]) -> Candidate | None:
        kept = self._kept.get(key)
        if kept is not None and kept[0] is stored and kept[1] is lines:
            return kept[2]
        return None

    def put(self, key: tuple, stored: StoredDefinition, lines: list[str], candidate: Candidate) -> None:
        if len(self._kept) >= KEPT_CANDIDATES:
            self._kept = {}  # start again rather than track recency: a pack makes a few hundred
        self._kept[key] = (stored, lines, candidate)


class DefinitionSource:
    name = "definitions"

    def __init__(self, index: Index, files: FileLines) -> None:
        self.index = index
        self.files = files
        self.lookups = IndexLookups(index)
        self.headers = HeaderEnds()
        self.uses = UsesAround()
        self.resolutions = KeptResolutions()
        self.made = KeptCandidates()
        self._results: OrderedDict[tuple, list[Candidate]] = OrderedDict()

    def candidates(self, cursor: Cursor, deadline: Deadline) -> list[Candidate]:
        """The ranked candidates; a complete run for the same buffer, position and index state
        is answered from memory (editors ask again at the same place)."""
        key = (cursor.path, cursor.line, cursor.col, cursor.text, self.index.generation)
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key]
        search = _Search(self, cursor, deadline)
        found = search.run()
        if not deadline.expired():  # a run cut short by its deadline is not the answer
            self._results[key] = found
            while len(self._results) > KEPT_RESULTS:
                self._results.popitem(last=False)
        return found


class _Search:
    """One ranking run; holds the per-request caches."""

    def __init__(self, source: DefinitionSource, cursor: Cursor, deadline: Deadline):
        self.index = source.index
        self.files = source.files
        self.lookups = source.lookups
        self.headers = source.headers
        self.uses = source.uses
        self.made = source.made
        self.state = self.lookups.state(cursor.path)
        self.cursor = cursor
        self.deadline = deadline
        self.ranked: list[_Ranked] = []
        self.sequence = 0
        self.bound, self.module_names = _bound_import_names(self.state.imports)
        self.local_names = set(self.state.own)
        self.receiver_budget = MAX_RECEIVER_INFERENCES
        self.enclosing = _innermost(self.state.definitions, cursor.line)
        self._buffer_names: set[str] | None = None
        self.off_line = _OffLine([], frozenset())
        self.receiver_text = _without_line(cursor.text, cursor.line)
        scope = self.enclosing
        self.enclosing_span = (scope.start_line, scope.end_line) if scope is not None else None
        exact = (self.state.exact, self.receiver_text, cursor.line, self.enclosing_span)
        self.loose_resolved, self.exact_resolved = source.resolutions.kept_for(self.state.loose, exact)

    def run(self) -> list[Candidate]:
        lines = self.cursor.lines
        import_lines = _import_lines(lines, set(self.bound.values()))
        self.off_line = self.uses.around(self, lines, frozenset(import_lines))
        expression = cursor_expression(self.cursor)
        if expression is not None:
            self._add_expression(expression)
        row = self.cursor.line
        on_line = [] if row in import_lines else names_in_lines(lines[row - 1 : row], row, row)
        if expression is not None:
            on_line = [use for use in on_line if use.chain != expression.chain]
        line_uses = self.placed(on_line)  # the cursor line's names are the nearest tier
        self._add_unused_imports({use.head for use in line_uses} | self.off_line.heads)
        on_line_chains = {use.chain for use in line_uses}
        unbound_budget = MAX_UNBOUND_CHAINS
        for use in line_uses + [use for use in self.off_line.uses if use.chain not in on_line_chains]:
            if self.deadline.expired():
                break
            if use.head not in self.bound and use.head not in self.local_names:
                if unbound_budget <= 0:
                    continue  # receivers and workspace-wide lookups cost the most and tell the least
                unbound_budget -= 1
            self._add_chain(use.chain, use.tier, use.distance, use.line)
        return self._candidates()

    def placed(self, uses: list[NameUse]) -> list[_Use]:
        """Each chain's first use in ``uses``, with its tier and distance from the cursor."""
        seen: set[str] = set()
        placed: list[_Use] = []
        for use in uses:
            if use.chain not in seen:
                seen.add(use.chain)
                head = use.chain.split(".", 1)[0]
                placed.append(_Use(use.chain, head, self._tier_of(use), self._distance(use), use.line))
        return placed

    # -- tiers -----------------------------------------------------------------------------

    def _distance(self, use: NameUse) -> int:
        return use.distance * (BELOW_CURSOR_WEIGHT if use.line > self.cursor.line else 1)

    def _tier_of(self, use: NameUse) -> int:
        if use.line == self.cursor.line:
            return TIER_LINE
        scope = self.enclosing
        if scope is not None and scope.start_line <= use.line <= scope.end_line:
            return TIER_SCOPE
        return TIER_FILE

    def _use_order(self, use: NameUse) -> tuple[int, int]:
        return (self._tier_of(use), self._distance(use))

    def sorted_uses_off_line(self, uses: list[NameUse], import_lines: frozenset[int]) -> list[NameUse]:
        """The names of every line but the cursor's, those of the imports left out, nearest (by
        tier, then distance) first."""
        return sorted((use for use in uses if use.line not in import_lines), key=self._use_order)

    # -- adding ----------------------------------------------------------------------------

    def _push(self, definition: StoredDefinition, tier: int, distance: int, reason: str, header_only=False) -> None:
        if definition.definition.kind in MODULE_KINDS:
            return
        self.sequence += 1
        self.ranked.append(_Ranked(tier, distance, self.sequence, definition, reason, header_only))

    def _add_expression(self, expression: CursorExpression) -> None:
        if not expression.is_member:
            self._add_chain(expression.chain, TIER_CURSOR, 0, self.cursor.line)
            return
        owners = self._resolve(expression.chain, self.cursor.line, as_receiver=True)[0]
        for owner in owners:
            self._add_members(owner, expression.partial)

    def _add_members(
        self,
        owner: StoredDefinition,
        partial: str,
        tier: int = TIER_CURSOR,
        first_rank: int = 0,
        popularity: dict[str, int] | None = None,
    ) -> None:
        """Every member of a class or module, the likeliest first, as headers only. ``popularity``:
        the members' reference totals, when the caller asked for several owners' at once."""
        members = [m for m in self.lookups.all_members(self.state, owner) if m.definition.name.startswith(partial)]
        in_buffer = self._names_in_buffer()
        if popularity is None:
            popularity = self.lookups.reference_totals(self.state, (m.definition.name for m in members))

        def likeliness(member: StoredDefinition) -> tuple[int, int, int]:
            name = member.definition.name
            private = name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
            return (private, name not in in_buffer, -popularity.get(name, 0))

        where = "the type at the cursor" if tier == TIER_CURSOR else "imported but not used yet"
        for rank, member in enumerate(sorted(members, key=likeliness)[:MEMBER_LISTING_LIMIT]):
            reason = f"member of {owner.definition.name}, {where}"
            self._push(member, tier, first_rank + rank, reason, header_only=True)

    def _names_in_buffer(self) -> set[str]:
        """The last part of every dotted name in the buffer (computed once per search)."""
        if self._buffer_names is None:
            row = self.cursor.lines[self.cursor.line - 1 : self.cursor.line]
            on_line = {chain.rsplit(".", 1)[-1] for line in row for chain in line_names(line)}
            self._buffer_names = on_line | self.off_line.last_parts
        return self._buffer_names

    def _add_unused_imports(self, used: set[str] | frozenset[str]) -> None:
        unused_modules, used_modules = [], []
        for name, line in self.bound.items():
            if name in used:
                if self._imports_module(name):
                    used_modules.extend(self.lookups.resolve(self.state, self.cursor.path, name))
                continue
            for definition in self.lookups.resolve(self.state, self.cursor.path, name):
                if definition.definition.kind in MODULE_KINDS:
                    unused_modules.append(definition)
                else:
                    self._push(definition, TIER_UNUSED_IMPORT, abs(line - self.cursor.line), TIER_REASONS[2])
        # after the names: a module brings many candidates, of which one is wanted
        far = len(self.cursor.lines) * BELOW_CURSOR_WEIGHT
        listed = [(module, TIER_UNUSED_IMPORT) for module in unused_modules]
        # `util.` used here: other members of util may be next
        listed += [(module, TIER_FILE) for module in used_modules if module.definition.kind in MODULE_KINDS]
        if not listed:
            return
        names = {m.definition.name for module, _ in listed for m in self.lookups.all_members(self.state, module)}
        popularity = self.lookups.reference_totals(self.state, names)  # one question for every module
        for module, tier in listed:
            self._add_members(module, "", tier, first_rank=far, popularity=popularity)

    def _imports_module(self, name: str) -> bool:
        """Whether the name is bound by a whole-module import (`import m`, `import * as m`, `from . import m`)."""
        return name in self.module_names

    def _add_chain(self, chain: str, tier: int, distance: int, line: int) -> None:
        definitions, how = self._resolve(chain, line)
        if how == "global":
            tier = max(tier, TIER_GLOBAL)
        reason = f"`{chain}` {TIER_REASONS[tier]}"
        for definition in definitions:
            self._push(definition, tier, distance, reason)
            if tier <= TIER_LINE and definition.definition.kind in ("class", "struct", "interface"):
                for constructor in ("__init__", "constructor", "new"):
                    for member in self.lookups.members(self.state, definition, constructor):
                        self._push(member, tier, distance, f"constructor of `{chain}`", header_only=True)

    # -- resolving -------------------------------------------------------------------------

    def _resolve(self, chain: str, line: int, as_receiver: bool = False) -> tuple[list[StoredDefinition], str]:
        """The definitions a chain denotes and how they were found: local, import, receiver, global.

        Answers are kept while the search's inputs stand (see KeptResolutions); the one input that
        varies within a search, whether receiver inferences are left, is part of the question."""
        question = (chain, line, as_receiver, self.receiver_budget > 0)
        head = chain.split(".", 1)[0]
        kept = self.exact_resolved.get(question)
        if kept is None and head not in self.local_names:
            kept = self.loose_resolved.get(question)
        if kept is not None:
            self.receiver_budget -= kept[2]
            return self.lookups.current(self.state, kept[0]), kept[1]
        budget = self.receiver_budget
        found, how = self._resolve_anew(chain, line, as_receiver)
        spent = budget - self.receiver_budget
        own = head in self.local_names or any(d.path == self.state.path for d in found)
        (self.exact_resolved if spent or own else self.loose_resolved)[question] = (found, how, spent)
        return found, how

    def _resolve_anew(self, chain: str, line: int, as_receiver: bool) -> tuple[list[StoredDefinition], str]:
        head = chain.split(".", 1)[0]
        if head in ("self", "this") and "." in chain:
            return self._resolve_through_receiver(chain, line), "receiver"
        if head in self.local_names or head in self.bound:
            how = "local" if head in self.local_names else "import"
            for spelling in chain_heads(chain):
                found = self.lookups.resolve(self.state, self.cursor.path, spelling)
                if found:
                    return found, how
            return [], how
        if "." in chain or as_receiver:
            typed = self._resolve_through_receiver(chain, line)
            if typed:
                return typed, "receiver"
        if head[:1].isupper() or "." not in chain:
            found = self.lookups.resolve(self.state, self.cursor.path, head)
            return found, "global"
        return [], "global"

    def _resolve_through_receiver(self, chain: str, line: int) -> list[StoredDefinition]:
        parts = chain.split(".")
        receiver_parts = 2 if parts[0] in ("self", "this") else 1
        if len(parts) <= receiver_parts - 1 or self.receiver_budget <= 0:
            return []
        receiver = ".".join(parts[:receiver_parts])
        rest = parts[receiver_parts:]
        self.receiver_budget -= 1
        owners = self.lookups.receiver_classes(self.state, line, receiver, self.receiver_text)
        if not owners and receiver_parts == 2 and self.enclosing is not None:
            owners = self._enclosing_classes()
            rest = parts[1:]
        if not rest:
            return owners
        found = owners
        for part in rest:
            found = [member for owner in found for member in self.lookups.members(self.state, owner, part)]
            if not found:
                break
        return found

    def _enclosing_classes(self) -> list[StoredDefinition]:
        classes = [
            d
            for d in self.state.definitions
            if d.definition.kind == "class" and d.definition.start_line <= self.cursor.line <= d.definition.end_line
        ]
        return classes[-1:]

    # -- output ----------------------------------------------------------------------------

    def _candidates(self) -> list[Candidate]:
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        lines_of: dict[str, list[str] | None] = {}
        for ranked in sorted(self.ranked):
            stored = ranked.definition
            key = (stored.path, stored.ord)
            if key in seen:
                continue
            seen.add(key)
            if stored.path not in lines_of:
                lines_of[stored.path] = self.files.lines(stored.path)
            lines = lines_of[stored.path]
            if lines is None:
                continue
            pinned = ranked.tier == TIER_CURSOR
            made_key = (key, ranked.header_only, pinned, ranked.reason)
            candidate = self.made.get(made_key, stored, lines)
            if candidate is None:
                candidate = self._candidate(stored, lines, ranked, pinned)
                self.made.put(made_key, stored, lines, candidate)
            out.append(candidate)
        return out

    def _candidate(self, stored: StoredDefinition, lines: list[str], ranked: _Ranked, pinned: bool) -> Candidate:
        d = stored.definition
        end = self.headers.end(lines, d, with_doc=not ranked.header_only)
        full = None if ranked.header_only or end >= d.end_line else d.end_line
        reason = f"{d.kind} {d.qualified_name}: {ranked.reason}"
        return Candidate(stored.path, d.start_line, end, reason, "definitions", full_end_line=full, pinned=pinned)


def _innermost(definitions: tuple[StoredDefinition, ...], line: int) -> Definition | None:
    """The innermost definition spanning a 1-based line (Index.definition_at, on definitions at hand)."""
    inner = None
    for stored in definitions:
        d = stored.definition
        if d.start_line <= line <= d.end_line and (inner is None or d.start_line >= inner.start_line):
            inner = d
    return inner


def _bound_import_names(imports: tuple[ImportRow, ...]) -> tuple[dict[str, int], set[str]]:
    """Local names the file's imports bind, with the import's line; and those that may name modules
    (whole-module imports, and `from pkg import name` where name may be a submodule)."""
    bound: dict[str, int] = {}
    modules: set[str] = set()
    for row in imports:
        if row.name == "*":
            continue
        if row.alias:
            name = row.alias
        elif row.name:
            name = row.name.rsplit(".", 1)[-1]
        else:
            name = row.module.lstrip("./").split(".", 1)[0].split("/")[-1]
        if name and name.isidentifier():
            bound.setdefault(name, row.line)
            if row.name is None or any(target.endswith(("/__init__.py", f"/{name}.py")) for target in row.targets):
                modules.add(name)
    return bound, modules


def _without_line(text: str, line: int) -> str:
    """The buffer with its 1-based ``line`` made a bare statement: receivers are typed from the
    lines around the one being typed, whose half-written text would change the parse (and defeat
    every cache) on each keystroke."""
    lines = text.split("\n")
    if 0 < line <= len(lines):
        current = lines[line - 1]
        lines[line - 1] = current[: len(current) - len(current.lstrip())] + "pass"
    return "\n".join(lines)


def _import_lines(lines: list[str], starts: set[int]) -> set[int]:
    """Every line of the import statements starting at ``starts``: a statement goes on while its
    brackets are open (`from x import (` ... `)`, `import {` ... `} from`) or a line ends in `\\`."""
    covered: set[int] = set()
    for start in starts:
        depth = 0
        line = start
        while line <= len(lines):
            text = lines[line - 1]
            covered.add(line)
            depth += text.count("(") + text.count("{") - text.count(")") - text.count("}")
            if depth <= 0 and not text.rstrip().endswith("\\"):
                break
            line += 1
    return covered
