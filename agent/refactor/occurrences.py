"""Every place in the workspace that names one definition: the heart of rename and move.

Candidates are the index's identifier occurrences of the name; each is judged from its syntax:
a keyword argument or an object-literal key is never the symbol; a name in ``from m import name``
or ``import { name as alias }`` is the symbol when module ``m`` provides it; an attribute
(``mod.name``, ``self.name``, ``client.name``) is resolved through the module or the receiver's
inferred class; a bare name must not be bound by an enclosing function or block, and must resolve
through the file's own definitions and imports (never the index's "any definition of that name"
fallback). Python ``__all__`` strings are included wherever the name is bound to the symbol.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from tree_sitter import Node, Tree

from indexer import Definition, StoredDefinition, parse_source

from ..navigate import Resolver, SourceLines, Token, token_at
from ..workspace import Workspace
from .overrides import CLASS_KINDS, bases
from .scopes import binding_scope, import_binding

PYTHON_SUFFIXES = (".py", ".pyi")
MAX_CANDIDATES = 50000  # occurrences of one name examined; past this the rename is refused


@dataclass(frozen=True, order=True)
class Site:
    """One place to rewrite. ``kind``: "definition", "reference", "shorthand" (JS ``{name}``, which
    keeps its key), "string" (an ``__all__`` entry) or "text" (a word in a string or comment, opt-in).
    Columns are code points on 0-based ``line``."""

    path: str
    line: int
    start: int
    end: int
    kind: str


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def module_definition(path: str) -> StoredDefinition:
    """A whole file standing for its module, as the index's member lookup expects."""
    return StoredDefinition(path, -1, Definition(PurePosixPath(path).stem, path, "module", 1, 1, 1, 0))


class Finder:
    """Answers "which sites name this definition" over one consistent view of the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.lines = SourceLines(ws)
        self.resolver = Resolver(ws, self.lines, allow_global=False)
        self._trees: dict[str, Tree | None] = {}
        self.unknown_receivers: list[Site] = []  # attribute uses of the name on receivers of unknown type

    # -- what is at a position ----------------------------------------------------------------

    def definitions_at(self, path: str, line: int, column: int) -> tuple[Token | None, list[StoredDefinition]]:
        """The identifier at a 0-based position and the definitions it denotes (modules excluded)."""
        token = token_at(self.lines.line(path, line), line, column)
        if token is None:
            return None, []
        node = self.node_at(path, token.line, token.start, token.name)
        if node is not None and not self._is_definition_name(path, token):
            role = self._role(path, node)
            if role == "never":
                return token, []
            if role == "import":
                return token, self._imported(path, node, token.name)
            if role == "head" and binding_scope(node, token.name, path) is not None:
                local = self._nested_named(path, token)
                return token, local
            if role == "attribute":
                found = self.attribute_targets(path, node, token.line, token.start, token.name) or []
                return token, [d for d in found if d.ord >= 0]
            if role == "head" and path.endswith(".go"):
                return token, self.package_level(path, token.name)
        found = self.resolver.resolve(path, token)
        return token, [d for d in found if d.ord >= 0]

    # -- all sites of a definition ------------------------------------------------------------

    def sites(
        self, target: StoredDefinition, lookup: str | None = None, family: Sequence[StoredDefinition] = ()
    ) -> list[Site]:
        """The definition's own name(s) and every reference to it, in file order. ``family``: methods
        that override or are overridden by ``target``, renamed with it (their sites are included)."""
        name = target.definition.name
        members = (target, *(m for m in family if not self._same(m, target)))
        found = {site for member in members for site in self.definition_sites(member)}
        binding_files = {target.path} if target.definition.parent == -1 else set()
        candidates = self.ws.index.references(name)
        if len(candidates) > MAX_CANDIDATES:
            raise OverflowError(f"'{name}' occurs more than {MAX_CANDIDATES} times")
        for occurrence in candidates:
            site = self._site(members, occurrence.path, occurrence.line - 1, occurrence.col, name, lookup or name)
            if site is not None:
                found.add(site)
                if site.kind == "import" and self._binds_unaliased(occurrence.path, name):
                    binding_files.add(occurrence.path)
        found = {Site(s.path, s.line, s.start, s.end, "reference") if s.kind == "import" else s for s in found}
        if target.definition.parent == -1:
            for path in self._star_reexporters(binding_files):
                found.update(self.all_entries(path, name))
        return sorted(found)

    def definition_sites(self, target: StoredDefinition) -> list[Site]:
        """The target's name, and same-named siblings that rebind it in the same scope."""
        d = target.definition
        siblings = [
            s
            for s in self.ws.index.definitions(target.path)
            if s.definition.name == d.name and s.definition.parent == d.parent
        ]
        sites = []
        for sibling in siblings or [target]:
            line = sibling.definition.name_line - 1
            start = self.lines.column(sibling.path, line, sibling.definition.name_col)
            sites.append(Site(sibling.path, line, start, start + len(d.name), "definition"))
        return sites

    def _site(
        self, targets: Sequence[StoredDefinition], path: str, line: int, byte_col: int, name: str, lookup: str
    ) -> Site | None:
        """The site at an occurrence of ``name`` when it denotes one of ``targets`` once spelled ``lookup``."""
        column = self.lines.column(path, line, byte_col)
        node = self.node_at(path, line, column, name)
        if node is None:
            return None
        site = Site(path, line, column, column + len(name), "reference")
        role = self._role(path, node)
        if role == "never":
            return None
        if role == "import":
            hit = self._hits(self._imported(path, node, lookup), targets)
            return Site(path, line, column, column + len(name), "import") if hit else None
        if role == "attribute":
            found = self.attribute_targets(path, node, line, column, lookup)
            if found is None:
                return None
            if not found and name == lookup:
                self.unknown_receivers.append(site)
            return site if self._hits(found, targets) else None
        scope = binding_scope(node, name, path)
        target = targets[0]
        if target.definition.parent != -1:
            in_class = scope is not None and name == lookup
            if not in_class or not any(t.path == path and self._is_scope_of(scope, self._parent(t)) for t in targets):
                return None
        elif scope is not None:
            imported = import_binding(scope, name) if is_python(path) else None
            if imported is None or not self._hits(self._imported(path, imported, lookup), targets):
                return None  # a local of the same name (a function-level import of the symbol is the symbol)
        elif path.endswith(".go"):
            if not self._hits(self.package_level(path, lookup), targets):
                return None  # Go: a bare name is the package's (any file of the folder), never an import's
        else:
            found = self.resolver.resolve(path, Token(lookup, line, column, column + len(lookup), lookup))
            if not self._hits(found, targets) or not self._bound_to(path, lookup, target):
                return None
        return Site(path, line, column, column + len(name), "shorthand" if role == "shorthand" else "reference")

    def attribute_targets(
        self, path: str, node: Node, line: int, column: int, lookup: str
    ) -> list[StoredDefinition] | None:
        """What ``obj.<lookup>`` denotes, the attribute being ``node``: through the module or the
        receiver's inferred class, a constructor call (``E().m``, ``new E().m``) or ``super()``.
        None when the text there is not that attribute."""
        token = token_at(self.lines.line(path, line), line, column)
        if token is None or token.name != node.text.decode("utf-8", "replace"):
            return None
        receiver = node.parent.child_by_field_name("object") if node.parent is not None else None
        if receiver is not None and receiver.type in ("call", "call_expression", "new_expression", "super"):
            return [m for owner in self._call_classes(path, receiver) for m in self.ws.index.members(owner, lookup)]
        chain = token.chain[: len(token.chain) - len(token.name)] + lookup
        return self.resolver.resolve(path, Token(lookup, line, column, column + len(lookup), chain))

    def _call_classes(self, path: str, receiver: Node) -> list[StoredDefinition]:
        """The classes of the object a call expression makes: ``super()``'s bases, a constructor's class."""
        if receiver.type == "super" or (receiver.type == "call" and _callee(receiver) == b"super"):
            klass = self._enclosing_class(path, receiver.start_point[0])
            return bases(self, klass) if klass is not None else []
        callee = receiver.child_by_field_name("constructor" if receiver.type == "new_expression" else "function")
        if callee is None or callee.type not in ("identifier", "attribute", "member_expression"):
            return []
        row, byte_col = callee.end_point
        end = self.lines.column(path, row, byte_col)
        token = token_at(self.lines.line(path, row), row, end)
        if token is None:
            return []
        return [d for d in self.resolver.resolve(path, token) if d.definition.kind in CLASS_KINDS]

    def _enclosing_class(self, path: str, row: int) -> StoredDefinition | None:
        spanning = [
            d
            for d in self.ws.index.definitions(path)
            if d.definition.kind in CLASS_KINDS and d.definition.start_line <= row + 1 <= d.definition.end_line
        ]
        return max(spanning, key=lambda d: d.definition.start_line, default=None)

    def leftovers(self, target: StoredDefinition, old: str, family: Sequence[StoredDefinition] = ()) -> list[Site]:
        """After a rename to ``target``'s name: occurrences still spelled ``old`` that now denote
        nothing but would denote the target (or its family) under its new name (a missed reference)."""
        new = target.definition.name
        members = (target, *(m for m in family if not self._same(m, target)))
        missed = []
        for occurrence in self.ws.index.references(old)[:MAX_CANDIDATES]:
            line = occurrence.line - 1
            site = self._site(members, occurrence.path, line, occurrence.col, old, new)
            if site is not None and not self._denotes_anything(site, old):
                missed.append(site)
        if target.definition.parent != -1:
            return missed
        bound_here = {target.path} | {s.path for s in self.sites(target) if s.kind == "reference"}
        for path in sorted(bound_here):
            if not self.ws.index.resolve(path, old) or not self._binds(path, old):
                missed += self.all_entries(path, old)
        return missed

    def _denotes_anything(self, site: Site, name: str) -> bool:
        node = self.node_at(site.path, site.line, site.start, name)
        if node is None:
            return False
        if self._role(site.path, node) == "import":
            return bool(self._imported(site.path, node, name))
        token = token_at(self.lines.line(site.path, site.line), site.line, site.start)
        return token is not None and bool(self.resolver.resolve(site.path, token))

    def package_level(self, path: str, name: str) -> list[StoredDefinition]:
        """Go: the top-level definitions named ``name`` in ``path``'s package (the .go files of its
        folder that declare the same package)."""
        package = self._go_package(path)
        folder = posixpath.dirname(path)
        return [
            d
            for d in self.ws.index.store.definitions_named(name)
            if d.definition.parent == -1
            and d.definition.kind != "method"
            and d.path.endswith(".go")
            and posixpath.dirname(d.path) == folder
            and self._go_package(d.path) == package
        ]

    def _go_package(self, path: str) -> str | None:
        tree = self.tree(path)
        clause = next((c for c in tree.root_node.named_children if c.type == "package_clause"), None) if tree else None
        return clause.named_children[0].text.decode() if clause is not None and clause.named_children else None

    def _binds(self, path: str, name: str) -> bool:
        """Whether a module defines or imports ``name`` at its top level (Go: its package does)."""
        if path.endswith(".go") and self.package_level(path, name):
            return True
        if any(d.definition.name == name and d.definition.parent == -1 for d in self.ws.index.definitions(path)):
            return True
        return any((row.alias or (row.name or "").rsplit(".", 1)[-1]) == name for row in self.ws.index.imports_of(path))

    # -- syntax -------------------------------------------------------------------------------

    def tree(self, path: str) -> Tree | None:
        if path not in self._trees:
            text = self.lines.text(path)
            self._trees[path] = parse_source(path, text) if text is not None else None
        return self._trees[path]

    def node_at(self, path: str, line: int, column: int, name: str) -> Node | None:
        """The identifier node spelling ``name`` at a code-point position, or None."""
        node = self._node_spanning(path, line, column, name)
        return node if node is not None and node.type.endswith("identifier") else None

    def node_at_string(self, path: str, line: int, column: int, text: str) -> Node | None:
        """The string-content node that is exactly ``text`` at a code-point position, or None."""
        node = self._node_spanning(path, line, column, text)
        return node if node is not None and node.type in ("string_content", "string_fragment") else None

    def _node_spanning(self, path: str, line: int, column: int, text: str) -> Node | None:
        tree = self.tree(path)
        if tree is None:
            return None
        line_text = self.lines.line(path, line)
        byte_col = len(line_text[:column].encode("utf-8"))
        end = byte_col + len(text.encode("utf-8"))
        node = tree.root_node.descendant_for_point_range((line, byte_col), (line, end))
        if node is None or node.start_point != (line, byte_col) or node.end_point != (line, end):
            return None
        return node

    def _role(self, path: str, node: Node) -> str:
        """How an identifier names something: "head", "attribute", "import", "shorthand" or "never"."""
        parent = node.parent
        if parent is None:
            return "head"
        kind, field = parent.type, _field_of(parent, node)
        if path.endswith(".go"):
            return _go_role(node, kind, field)
        if is_python(path):
            if kind == "keyword_argument" and field == "name":
                return "never"
            if kind == "attribute":
                return "attribute" if field == "attribute" else "head"
            statement = _ancestor(node, ("import_statement", "import_from_statement"))
            if statement is not None:
                return self._python_import_role(statement, node)
            return "head"
        if kind in ("member_expression", "nested_type_identifier", "nested_identifier") and field in (
            "property",
            "name",
        ):
            return "attribute"
        if kind in ("import_specifier", "export_specifier"):
            if field == "alias":
                return "never"  # the alias is a new name of its own
            has_source = kind == "import_specifier" or parent.parent.parent.child_by_field_name("source") is not None
            return "import" if has_source else "head"
        if node.type == "shorthand_property_identifier":
            return "shorthand"
        if node.type == "property_identifier":
            return "never"  # an object key, a method or field name: not a use of a variable
        return "head"

    @staticmethod
    def _python_import_role(statement: Node, node: Node) -> str:
        if statement.type == "import_statement":
            return "never"  # module names
        module = statement.child_by_field_name("module_name")
        if module is not None and module.start_byte <= node.start_byte < module.end_byte:
            return "never"
        aliased = node.parent if node.parent is not None and node.parent.type == "dotted_name" else node
        if aliased.parent is not None and aliased.parent.type == "aliased_import":
            if _field_of(aliased.parent, aliased) == "alias":
                imported = aliased.parent.child_by_field_name("name")
                same = imported is not None and imported.text.rsplit(b".", 1)[-1] == node.text
                return "import" if same else "never"  # `name as name` re-exports the name itself
        return "import"

    def _imported(self, path: str, node: Node, lookup: str) -> list[StoredDefinition]:
        """What the imported name at ``node`` is in the module it comes from."""
        statement = _ancestor(node, ("import_statement", "import_from_statement", "export_statement"))
        if statement is None:
            return []
        spelled = node.text.decode("utf-8", "replace") if node.text else ""
        first, last = statement.start_point.row + 1, statement.end_point.row + 1
        found: list[StoredDefinition] = []
        for row in self.ws.index.imports_of(path):
            if first <= row.line <= last and row.name is not None and row.name.rsplit(".", 1)[-1] == spelled:
                for module in row.targets:
                    for d in self.ws.index.members(module_definition(module), lookup):
                        if d.ord >= 0 and d not in found:
                            found.append(d)
        return found

    def _bound_to(self, path: str, name: str, target: StoredDefinition) -> bool:
        """Whether the module binds ``name`` to ``target`` itself: its own definition, or an import that
        leads there (the index's name resolution would also accept an import of an outside module's
        same-named symbol, which a rename must leave alone)."""
        if path == target.path:
            return True
        rows = self.ws.index.imports_of(path)
        for row in rows:
            bound = row.alias or (row.name.rsplit(".", 1)[-1] if row.name else None)
            if bound == name or row.name == "*":
                imported = name if row.name == "*" else row.name.rsplit(".", 1)[-1]
                for module in row.targets:
                    if any(self._same(d, target) for d in self.ws.index.members(module_definition(module), imported)):
                        return True
        return False

    def _star_reexporters(self, paths: set[str]) -> set[str]:
        """``paths`` and the modules that re-export them through ``from m import *``, transitively."""
        found, queue = set(paths), list(paths)
        while queue:
            for row in self.ws.index.importers_of(queue.pop()):
                if row.name == "*" and row.path not in found:
                    found.add(row.path)
                    queue.append(row.path)
        return found

    def _binds_unaliased(self, path: str, name: str) -> bool:
        return any(row.name == name and row.alias in (None, name) for row in self.ws.index.imports_of(path))

    def all_entries(self, path: str, name: str) -> list[Site]:
        """``"name"`` strings in a Python module's ``__all__`` list or tuple."""
        tree = self.tree(path)
        if tree is None or not is_python(path):
            return []
        sites = []
        for statement in tree.root_node.named_children:
            assignment = statement.named_children[0] if statement.type == "expression_statement" else None
            if assignment is None or assignment.type not in ("assignment", "augmented_assignment"):
                continue
            left, right = assignment.child_by_field_name("left"), assignment.child_by_field_name("right")
            if left is None or left.text != b"__all__" or right is None or right.type not in ("list", "tuple"):
                continue
            for element in right.named_children:
                content = [c for c in element.named_children if c.type == "string_content"]
                if element.type == "string" and len(content) == 1 and content[0].text == name.encode():
                    row, byte_col = content[0].start_point
                    start = self.lines.column(path, row, byte_col)
                    sites.append(Site(path, row, start, start + len(name), "string"))
        return sites

    # -- definitions and scopes ---------------------------------------------------------------

    def _is_definition_name(self, path: str, token: Token) -> bool:
        for stored in self.ws.index.definitions(path):
            d = stored.definition
            if d.name == token.name and d.name_line - 1 == token.line:
                if self.lines.column(path, token.line, d.name_col) == token.start:
                    return True
        return False

    def _nested_named(self, path: str, token: Token) -> list[StoredDefinition]:
        """A definition nested in a function around the token, of the token's name."""
        found = self.resolver.resolve(path, token)
        return [d for d in found if d.ord >= 0 and d.definition.parent != -1 and d.path == path]

    def _parent(self, target: StoredDefinition) -> StoredDefinition:
        return self.ws.index.definitions(target.path)[target.definition.parent]

    @staticmethod
    def _is_scope_of(scope: Node, parent: StoredDefinition) -> bool:
        own = scope.child_by_field_name("name")
        return own is not None and own.start_point[0] + 1 == parent.definition.name_line

    @staticmethod
    def _same(a: StoredDefinition, b: StoredDefinition) -> bool:
        return (a.path, a.ord) == (b.path, b.ord)

    @staticmethod
    def _hits(found: list[StoredDefinition], targets: Sequence[StoredDefinition]) -> bool:
        keys = {(t.path, t.ord) for t in targets}
        return any((d.path, d.ord) in keys for d in found)


def _field_of(parent: Node, child: Node) -> str | None:
    for index in range(parent.child_count):
        candidate = parent.child(index)
        if candidate is not None and candidate.start_byte == child.start_byte and candidate.end_byte == child.end_byte:
            return parent.field_name_for_child(index)
    return None


def _go_role(node: Node, kind: str, field: str | None) -> str:
    """How a Go identifier names something: ``pkg.Name`` and ``x.Method`` are attributes; field,
    package and import names, and struct literal keys, are never a package-level symbol."""
    if kind in ("selector_expression", "qualified_type") and field in ("field", "name"):
        return "attribute"
    if node.type in ("field_identifier", "package_identifier"):
        return "never"
    if kind == "literal_element" and node.parent.parent is not None and node.parent.parent.type == "keyed_element":
        if _field_of(node.parent.parent, node.parent) == "key":
            return "never"
    if _ancestor(node, ("import_declaration",)) is not None:
        return "never"
    return "head"


def _callee(call: Node) -> bytes | None:
    function = call.child_by_field_name("function")
    return function.text if function is not None else None


def _ancestor(node: Node, types: tuple[str, ...]) -> Node | None:
    current = node.parent
    while current is not None:
        if current.type in types:
            return current
        current = current.parent
    return None
