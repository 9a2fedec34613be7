"""Explanations of cross-file dependencies: structured summaries from the index, their hover and
code-lens renderings, and a model narrative grounded in the summary.

A summary is plain data with locations the editor can open: the definition site, signature and
doc, who uses it (per file, with counts), what it uses from other files, and call chains to depth
2 in both directions. ``narrate`` asks a model to tell the story of a summary and keeps only the
``path:line`` citations that the summary itself contains.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from engine import Backend, ChatMessage, ChatRequest
from indexer import StoredDefinition

from .context import Cursor, PackRequest
from .edits import Position, Range
from .navigate import (
    Location,
    Resolver,
    SourceLines,
    definition_location,
    references_of,
    symbols_at,
    token_at,
)
from .workspace import Workspace

CALL_DEPTH = 2
MAX_CHAIN_WIDTH = 8  # callers or callees listed per node
MAX_BODY_IDENTIFIERS = 3000  # identifiers of one body examined for what it uses
HOVER_LOCATIONS = 3
NARRATIVE_CONTEXT_TOKENS = 4096
NARRATIVE_MAX_TOKENS = 700
LENS_KINDS = frozenset({"function", "method", "class", "interface", "struct", "trait", "enum", "type"})
CALLABLE_KINDS = frozenset({"function", "method"})
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_CITATION = re.compile(r"(?<![\w./@+-])(?P<path>[\w./@+-]+\.[A-Za-z]\w*):(?P<line>\d+)(?:-\d+)?")
_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".jsx": "jsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
}


@dataclass(frozen=True)
class SymbolRef:
    """A definition as a summary names it: where its name is, and the lines it spans (1-based)."""

    name: str
    qualified_name: str
    kind: str
    location: Location
    start_line: int
    end_line: int
    signature: str = ""


@dataclass(frozen=True)
class FileUsage:
    """How one file uses a symbol: how often, and where."""

    path: str
    count: int
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class SymbolUse:
    """A symbol defined elsewhere that the explained one uses, with the places it does."""

    symbol: SymbolRef
    count: int
    sites: tuple[Location, ...]


@dataclass(frozen=True)
class CallNode:
    """One link of a call chain: the symbol, the call sites of this link, and the next links."""

    symbol: SymbolRef
    sites: tuple[Location, ...]
    children: tuple[CallNode, ...] = ()


@dataclass(frozen=True)
class SymbolExplanation:
    symbol: SymbolRef
    doc: str
    references: tuple[Location, ...]  # every use, the declaration not included
    dependents: tuple[FileUsage, ...]  # files using the symbol, most uses first
    dependencies: tuple[SymbolUse, ...]  # what it uses from other files, most uses first
    callers: tuple[CallNode, ...]  # who calls it, and who calls them
    callees: tuple[CallNode, ...]  # what it calls, and what those call

    @property
    def reference_count(self) -> int:
        return len(self.references)

    @property
    def file_count(self) -> int:
        return len(self.dependents)


@dataclass(frozen=True)
class ImportLink:
    """One import statement of a file and the workspace files it resolves to."""

    location: Location
    module: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class FileExplanation:
    path: str
    language: str
    line_count: int
    definitions: tuple[SymbolRef, ...]  # top-level, in file order
    imports: tuple[ImportLink, ...]  # what the file depends on
    importers: tuple[Location, ...]  # import statements of other files that lead here
    used_elsewhere: tuple[tuple[SymbolRef, int, int], ...] = field(default=())  # (definition, uses, files)

    @property
    def dependencies(self) -> tuple[str, ...]:
        return tuple(sorted({t for link in self.imports for t in link.targets if t != self.path}))

    @property
    def dependents(self) -> tuple[str, ...]:
        return tuple(sorted({location.path for location in self.importers}))


@dataclass(frozen=True)
class CodeLensInfo:
    range: Range
    title: str
    locations: tuple[Location, ...]


class _Explainer:
    """One request's caches: file lines and name resolution shared by every step."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lines = SourceLines(ws)
        self.resolver = Resolver(ws, self.lines, allow_global=False)
        self._refs: dict[tuple[str, int], list[Location]] = {}
        self._uses: dict[tuple[str, int], list[tuple[StoredDefinition, Location, bool]]] = {}

    def ref(self, stored: StoredDefinition) -> SymbolRef:
        d = stored.definition
        return SymbolRef(
            d.name,
            d.qualified_name,
            d.kind,
            definition_location(self.lines, stored),
            d.start_line,
            d.end_line,
            d.signature,
        )

    def references(self, stored: StoredDefinition) -> list[Location]:
        key = (stored.path, stored.ord)
        if key not in self._refs:
            self._refs[key] = references_of(self.ws, stored, self.lines, False, self.resolver)
        return self._refs[key]

    def enclosing(self, location: Location) -> StoredDefinition | None:
        """The innermost function or method around a location (a class body or module: None)."""
        spanning = [
            s
            for s in self.ws.index.definitions(location.path)
            if s.definition.kind in CALLABLE_KINDS and s.definition.start_line <= location.line <= s.definition.end_line
        ]
        return max(spanning, key=lambda s: s.definition.start_line, default=None)

    def uses(self, stored: StoredDefinition) -> list[tuple[StoredDefinition, Location, bool]]:
        """(definition used, where, whether called) for each resolvable name in a definition's body."""
        key = (stored.path, stored.ord)
        if key in self._uses:
            return self._uses[key]
        d = stored.definition
        found: list[tuple[StoredDefinition, Location, bool]] = []
        body = _code_only(self.lines.lines(stored.path)[d.name_line - 1 : d.end_line], stored.path)
        matches = [(n, m) for n, text in enumerate(body, d.name_line - 1) for m in _IDENTIFIER.finditer(text)]
        for line, match in matches[:MAX_BODY_IDENTIFIERS]:
            text = body[line - d.name_line + 1]
            token = token_at(text, line, match.start())
            if token is None or token.chain.split(".")[0] in _LITERALS:
                continue
            called = text[match.end() :].lstrip().startswith("(")
            site = Location(stored.path, Range.of(line, match.start(), line, match.end()))
            for target in self.resolver.resolve(stored.path, token):
                inside = target.path == stored.path and d.start_line <= target.definition.start_line <= d.end_line
                if target.ord >= 0 and not inside:
                    found.append((target, site, called))
        self._uses[key] = found
        return found

    def callers(self, stored: StoredDefinition, depth: int) -> tuple[CallNode, ...]:
        """Who calls ``stored`` (the functions around its references), and who calls them."""
        links = []
        for location in self.references(stored):
            caller = self.enclosing(location)
            if caller is not None and (caller.path, caller.ord) != (stored.path, stored.ord):
                links.append((caller, location))
        return self._chain(links, lambda caller: self.callers(caller, depth - 1) if depth > 1 else ())

    def callees(self, stored: StoredDefinition, depth: int) -> tuple[CallNode, ...]:
        """What ``stored`` calls, and what those call."""
        links = [
            (target, site)
            for target, site, called in self.uses(stored)
            if called and target.definition.kind in LENS_KINDS
        ]
        return self._chain(
            links,
            lambda callee: (
                self.callees(callee, depth - 1) if depth > 1 and callee.definition.kind in CALLABLE_KINDS else ()
            ),
        )

    def _chain(self, links, deeper) -> tuple[CallNode, ...]:
        """(symbol, site) links grouped per symbol, most sites first, each with its next links."""
        grouped: dict[tuple[str, int], tuple[StoredDefinition, list[Location]]] = {}
        for symbol, site in links:
            grouped.setdefault((symbol.path, symbol.ord), (symbol, []))[1].append(site)
        ranked = sorted(grouped.values(), key=lambda item: (-len(item[1]), item[0].path))[:MAX_CHAIN_WIDTH]
        return tuple(CallNode(self.ref(symbol), tuple(sites), deeper(symbol)) for symbol, sites in ranked)

    def importers(self, path: str) -> tuple[Location, ...]:
        """The import statements of other files that lead to ``path``, in path and line order."""
        found = {_line_location(self.lines, row.path, row.line - 1) for row in self.ws.index.importers_of(path)}
        return tuple(sorted(found, key=lambda loc: (loc.path, loc.line)))


def explain_symbol(ws: Workspace, path: str, position: Position) -> SymbolExplanation | None:
    """The summary of the symbol at ``position``; None where there is no symbol (or only a module)."""
    explainer = _Explainer(ws)
    targets = [t for t in symbols_at(ws, ws.relative(path), position, explainer.lines) if t.ord >= 0]
    if not targets:
        return None
    return _explain(explainer, targets[0])


def explain_definition(ws: Workspace, stored: StoredDefinition) -> SymbolExplanation:
    return _explain(_Explainer(ws), stored)


def _explain(explainer: _Explainer, stored: StoredDefinition) -> SymbolExplanation:
    references = explainer.references(stored)
    per_file: dict[str, list[Location]] = defaultdict(list)
    for location in references:
        per_file[location.path].append(location)
    dependents = tuple(
        FileUsage(path, len(locations), tuple(locations))
        for path, locations in sorted(per_file.items(), key=lambda item: (-len(item[1]), item[0]))
    )
    used: dict[tuple[str, int], tuple[StoredDefinition, list[Location]]] = {}
    for target, site, _ in explainer.uses(stored):
        if target.path != stored.path:
            used.setdefault((target.path, target.ord), (target, []))[1].append(site)
    dependencies = tuple(
        SymbolUse(explainer.ref(target), len(sites), tuple(sites))
        for target, sites in sorted(used.values(), key=lambda item: (-len(item[1]), item[0].path, item[0].ord))
    )
    return SymbolExplanation(
        symbol=explainer.ref(stored),
        doc=stored.definition.doc,
        references=tuple(references),
        dependents=dependents,
        dependencies=dependencies,
        callers=explainer.callers(stored, CALL_DEPTH),
        callees=explainer.callees(stored, CALL_DEPTH),
    )


def explain_file(ws: Workspace, path: str) -> FileExplanation:
    """The summary of a whole file: its definitions, what it imports, who imports it, what is used."""
    rel = ws.relative(path)
    if not ws.is_indexed(rel):
        raise FileNotFoundError(f"not an indexed file of the workspace: {path}")
    explainer = _Explainer(ws)
    lines = explainer.lines.lines(rel)
    top = [s for s in ws.index.definitions(rel) if s.definition.parent == -1]
    grouped: dict[tuple[int, str], set[str]] = defaultdict(set)
    for row in ws.index.imports_of(rel):
        grouped[(row.line, row.module)].update(row.targets)
    imports = tuple(
        ImportLink(_line_location(explainer.lines, rel, line - 1), module, tuple(sorted(targets)))
        for (line, module), targets in sorted(grouped.items())
    )
    importers = explainer.importers(rel)
    used = []
    for stored in top:
        outside = [loc for loc in explainer.references(stored) if loc.path != rel]
        if outside:
            used.append((explainer.ref(stored), len(outside), len({loc.path for loc in outside})))
    used.sort(key=lambda item: (-item[1], item[0].location.line))
    row = ws.index.store.file(rel)
    return FileExplanation(
        path=rel,
        language=row.language if row else "",
        line_count=len(lines),
        definitions=tuple(explainer.ref(s) for s in top),
        imports=imports,
        importers=importers,
        used_elsewhere=tuple(used),
    )


def _line_location(lines: SourceLines, path: str, line: int) -> Location:
    text = lines.line(path, line)
    start = len(text) - len(text.lstrip())
    return Location(path, Range.of(line, start, line, len(text.rstrip())))


# -- renderings ------------------------------------------------------------------------------


def cite(location: Location) -> str:
    return f"{location.path}:{location.line}"


def hover_markdown(explanation: SymbolExplanation | FileExplanation) -> str:
    """A concise Markdown card: signature, doc, counts and the top locations."""
    if isinstance(explanation, FileExplanation):
        return _file_hover(explanation)
    symbol = explanation.symbol
    parts = [f"```{_language(symbol.location.path)}\n{symbol.signature or symbol.name}\n```"]
    if explanation.doc:
        parts.append(explanation.doc.split("\n\n", 1)[0].strip())
    count, files = explanation.reference_count, explanation.file_count
    line = f"**{_plural(count, 'reference')} in {_plural(files, 'file')}**"
    if explanation.references:
        top = [cite(loc) for usage in explanation.dependents for loc in usage.locations[:1]][:HOVER_LOCATIONS]
        line += ": " + ", ".join(top) + (", …" if files > len(top) else "")
    parts.append(line)
    if explanation.callers:
        parts.append("Called by: " + _nodes(explanation.callers))
    if explanation.callees:
        parts.append("Calls: " + _nodes(explanation.callees))
    if explanation.dependencies:
        deps = explanation.dependencies[:HOVER_LOCATIONS]
        parts.append("Uses: " + ", ".join(f"`{u.symbol.name}` ({cite(u.symbol.location)})" for u in deps))
    parts.append(f"Defined at {cite(symbol.location)}")
    return "\n\n".join(parts)


def _file_hover(explanation: FileExplanation) -> str:
    used = ", ".join(
        f"`{ref.name}` ({uses}× in {_plural(files, 'file')})"
        for ref, uses, files in explanation.used_elsewhere[:HOVER_LOCATIONS]
    )
    parts = [
        f"**{explanation.path}** ({explanation.language}, {_plural(explanation.line_count, 'line')}, "
        f"{_plural(len(explanation.definitions), 'top-level definition')})",
        f"Imports {_plural(len(explanation.dependencies), 'workspace file')}; "
        f"imported by {_plural(len(explanation.dependents), 'file')}",
    ]
    if used:
        parts.append("Most used elsewhere: " + used)
    return "\n\n".join(parts)


def _nodes(nodes: tuple[CallNode, ...]) -> str:
    shown = ", ".join(f"`{n.symbol.name}` ({cite(n.symbol.location)})" for n in nodes[:HOVER_LOCATIONS])
    return shown + (f" and {len(nodes) - HOVER_LOCATIONS} more" if len(nodes) > HOVER_LOCATIONS else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _language(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path else ""
    return _LANGUAGES.get(suffix, "")


@dataclass(frozen=True)
class LensSlot:
    """Where a code lens goes, before its count: ``ord`` is the definition's, -1 for the file's importers."""

    range: Range
    ord: int
    name: str = ""  # the definition's name, so a lens resolved after an edit can tell it moved


class FileLenses:
    """The code lenses of one file at one state of the index: every slot at once (cheap), each lens's
    count on demand (resolving references is the expensive part, so an editor resolves only the
    lenses it shows). One instance shares name resolution among the lenses it resolves; it is valid
    until the file's buffer or the index changes."""

    def __init__(self, ws: Workspace, path: str) -> None:
        self.ws = ws
        self.path = ws.relative(path)
        self._explainer = _Explainer(ws)
        self._lock = threading.Lock()
        indexed = ws.is_indexed(self.path)  # a file of a language we do not index has nothing to count
        definitions = ws.index.definitions(self.path) if indexed else []
        self._definitions = {d.ord: d for d in definitions if d.definition.kind in LENS_KINDS}
        names = {d.definition.name for d in self._definitions.values()}
        self._totals = ws.index.reference_totals(names) if names else {}  # one grouped query for the file
        lines = self._explainer.lines
        self.slots = [LensSlot(Range.of(0, 0, 0, 0), -1)] if indexed else []
        self.slots += [
            LensSlot(definition_location(lines, d).range, o, d.definition.name) for o, d in self._definitions.items()
        ]

    def resolve(self, ord: int, name: str | None = None) -> CodeLensInfo | None:
        """The lens of slot ``ord`` with its title and locations; None for an unknown slot, or one
        that no longer holds a definition named ``name`` (the file changed since it was placed)."""
        with self._lock:
            if ord == -1:
                importers = self._explainer.importers(self.path)
                files = len({loc.path for loc in importers})
                return CodeLensInfo(Range.of(0, 0, 0, 0), f"imported by {_plural(files, 'file')}", importers)
            stored = self._definitions.get(ord)
            if stored is None or (name is not None and stored.definition.name != name):
                return None
            named_anywhere = self._totals.get(stored.definition.name, 0) > 0
            references = tuple(self._explainer.references(stored)) if named_anywhere else ()
            title = f"{_plural(len(references), 'reference')} in {_plural(len({r.path for r in references}), 'file')}"
            return CodeLensInfo(definition_location(self._explainer.lines, stored).range, title, references)


def code_lenses(ws: Workspace, path: str) -> list[CodeLensInfo]:
    """ "N references in M files" above each function, method and class; "imported by K files" atop."""
    lenses = FileLenses(ws, path)
    return [lens for slot in lenses.slots if (lens := lenses.resolve(slot.ord)) is not None]


# -- the model narrative ---------------------------------------------------------------------

NARRATE_SYSTEM = (
    "You explain code to a developer. Use only the facts in the summary and the code given; do not "
    "guess about code you were not shown. Cite places as path:line exactly as they appear in the "
    "summary. Be concise: a short paragraph on what it does, then how it connects to other files."
)


def summary_text(explanation: SymbolExplanation | FileExplanation) -> str:
    """The summary as plain text with ``path:line`` locations: what the model may rely on and cite."""
    if isinstance(explanation, FileExplanation):
        out = [f"File {explanation.path} ({explanation.language}, {explanation.line_count} lines)."]
        out += [f"- defines {d.kind} {d.name} at {cite(d.location)}: {d.signature}" for d in explanation.definitions]
        out += [
            f"- imports {i.module} at {cite(i.location)} -> {', '.join(i.targets) or 'outside'}"
            for i in explanation.imports
        ]
        out += [f"- imported by {cite(loc)}" for loc in explanation.importers]
        out += [
            f"- {ref.name} is used {uses} times in {files} other files"
            for ref, uses, files in explanation.used_elsewhere
        ]
        return "\n".join(out)
    symbol = explanation.symbol
    out = [
        f"{symbol.kind} {symbol.qualified_name} defined at {cite(symbol.location)} "
        f"(lines {symbol.start_line}-{symbol.end_line}): {symbol.signature}"
    ]
    if explanation.doc:
        out.append(f"Doc: {explanation.doc}")
    out.append(f"{explanation.reference_count} references in {explanation.file_count} files:")
    for usage in explanation.dependents:
        out.append(f"- {usage.path}: {usage.count} ({', '.join(cite(loc) for loc in usage.locations[:5])})")
    out += [
        f"Uses {u.symbol.kind} {u.symbol.qualified_name} ({cite(u.symbol.location)}) {u.count} times"
        for u in explanation.dependencies
    ]
    out += _chain_lines("Called by", explanation.callers)
    out += _chain_lines("Calls", explanation.callees)
    return "\n".join(out)


def _chain_lines(verb: str, nodes: tuple[CallNode, ...], indent: str = "") -> list[str]:
    out = []
    for node in nodes:
        sites = ", ".join(cite(site) for site in node.sites[:3])
        out.append(f"{indent}{verb} {node.symbol.qualified_name} ({cite(node.symbol.location)}) at {sites}")
        out += _chain_lines(verb, node.children, indent + "  ")
    return out


def known_places(explanation: SymbolExplanation | FileExplanation) -> dict[str, set[int]]:
    """Every (path, line) a narrative may cite: locations in the summary and lines of its symbols."""
    places: dict[str, set[int]] = defaultdict(set)

    def symbol(ref: SymbolRef) -> None:
        places[ref.location.path].update(range(ref.start_line, ref.end_line + 1))

    def location(loc: Location) -> None:
        places[loc.path].update(range(loc.range.start.line + 1, loc.range.end.line + 2))

    def chain(nodes: tuple[CallNode, ...]) -> None:
        for node in nodes:
            symbol(node.symbol)
            for site in node.sites:
                location(site)
            chain(node.children)

    if isinstance(explanation, FileExplanation):
        places[explanation.path].update(range(1, explanation.line_count + 1))
        for loc in explanation.importers:
            location(loc)
        return places
    symbol(explanation.symbol)
    for loc in explanation.references:
        location(loc)
    for use in explanation.dependencies:
        symbol(use.symbol)
    chain(explanation.callers)
    chain(explanation.callees)
    return places


def validate_citations(text: str, places: dict[str, set[int]]) -> str:
    """The text with every ``path:line`` the summary does not contain removed."""

    def keep(match: re.Match) -> str:
        path = match.group("path").removeprefix("./")
        return match.group(0) if int(match.group("line")) in places.get(path, ()) else ""

    cleaned = _CITATION.sub(keep, text)
    cleaned = re.sub(r"\(\s*(?:,\s*)*\)", "", cleaned)  # citations left empty in brackets
    cleaned = re.sub(r"\(\s*,\s*", "(", cleaned)
    cleaned = re.sub(r"\s*,\s*\)", ")", cleaned)
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]+([.,;:])(?=\s|$)", r"\1", cleaned)).strip()


async def narrate(ws: Workspace, explanation: SymbolExplanation | FileExplanation, backend: Backend) -> str:
    """A model-written account of the summary, citing only locations the summary contains."""
    context = await asyncio.to_thread(_packed_context, ws, explanation, backend)  # the event loop serves others
    prompt = f"Summary:\n{summary_text(explanation)}\n\nCode:\n{context}\n\nExplain it, citing path:line."
    request = ChatRequest(
        messages=(ChatMessage("system", NARRATE_SYSTEM), ChatMessage("user", prompt)), max_tokens=NARRATIVE_MAX_TOKENS
    )
    reply, _ = await backend.complete_chat(request)
    return validate_citations(reply, known_places(explanation))


def _packed_context(ws: Workspace, explanation: SymbolExplanation | FileExplanation, backend: Backend) -> str:
    """The code a completion at the definition would get (the context packer), then the definition."""
    if isinstance(explanation, FileExplanation):
        path, line = explanation.path, 1
        column = 1
    else:
        path, line = explanation.symbol.location.path, explanation.symbol.location.line
        column = explanation.symbol.location.range.start.column + 1
    text = ws.index.source_text(path) or ""
    budget = max(min(NARRATIVE_CONTEXT_TOKENS, backend.info.context_window // 4), 256)
    pack = ws.packer(backend.info.tokenizer).pack(PackRequest(Cursor(path, line, column, text), budget))
    pieces = [f"--- {item.path}:{item.start_line}-{item.end_line}\n{item.text}" for item in pack.items]
    lines = text.split("\n")
    if isinstance(explanation, SymbolExplanation):
        start, end = explanation.symbol.start_line, explanation.symbol.end_line
        pieces.append(f"--- {path}:{start}-{end}\n" + "\n".join(lines[start - 1 : end]))
    return "\n".join(pieces)


def _code_only(lines: list[str], path: str) -> list[str]:
    """Lines with comments and string contents blanked (same columns), triple-quoted strings that
    span lines included, so that only code is searched for names."""
    python = path.endswith((".py", ".pyi"))
    marker = "#" if python else "//"
    out, open_quote = [], None
    for text in lines:
        chars = list(text)
        i = 0
        if open_quote is not None:
            end = text.find(open_quote)
            stop = len(text) if end < 0 else end + 3
            chars[:stop] = " " * stop
            i = stop
            open_quote = None if end >= 0 else open_quote
        while i < len(text) and open_quote is None:
            rest = text[i:]
            if rest.startswith(marker):
                chars[i:] = " " * (len(text) - i)
                break
            triple = rest[:3] if python and rest[:3] in ('"""', "'''") else None
            if triple:
                end = text.find(triple, i + 3)
                stop = len(text) if end < 0 else end + 3
                chars[i:stop] = " " * (stop - i)
                open_quote = triple if end < 0 else None
                i = stop
                continue
            if rest[0] in "\"'" and not _formatted(text, i):
                match = re.match(r"(\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')", rest)
                if match:
                    chars[i : i + match.end()] = " " * match.end()
                    i += match.end()
                    continue
            i += 1
        out.append("".join(chars))
    return out


def _formatted(text: str, quote: int) -> bool:
    """A Python f-string (its braces hold code, so its contents stay)."""
    prefix = re.search(r"[A-Za-z]*$", text[:quote]).group(0).lower()
    return "f" in prefix or "t" in prefix


_LITERALS = frozenset({"True", "False", "None", "null", "undefined", "self", "this"})
