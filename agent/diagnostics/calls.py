"""Calls whose arguments cannot fit the signature of a Python function or class defined in another
workspace file: too many positional arguments, unknown keywords, required parameters left out.

Only certain cases are judged: the callee is bound by an unguarded module-level import and never
rebound, resolves to exactly one definition, and nothing may change its signature — a decorated
function, a class with ``__new__``, a metaclass or bases outside reach, or a dataclass with
``field(...)``/``ClassVar``/``InitVar``/``KW_ONLY`` is skipped. Calls that spread ``*args`` or
``**kwargs`` are skipped too. A class is judged by its ``__init__`` (found through its bases), or
its fields when it is a plain ``@dataclass``.
"""

from __future__ import annotations

import ast
import inspect
import re
import warnings
from collections.abc import Iterator

from indexer import StoredDefinition

from ..edits import Range
from ..navigate import bound_name
from .context import FileContext
from .finding import Finding
from .modules import imports_submodule, is_python

_DATACLASS = re.compile(r"^@(?:dataclasses\.)?dataclass(?:\((?P<args>.*)\))?$")
_SPECIAL_FIELD = re.compile(r"\b(?:ClassVar|InitVar|KW_ONLY)\b")


def check_calls(ctx: FileContext) -> Iterator[Finding]:
    if ctx.tree is None:
        return
    imported = _imported_names(ctx.tree) - ctx.rebound
    if not imported:
        return
    signatures: dict[str, tuple[inspect.Signature, StoredDefinition] | None] = {}
    for node in ast.walk(ctx.tree):
        if not isinstance(node, ast.Call) or _spreads(node):
            continue
        dotted = _callee(node.func, imported)
        if dotted is None:
            continue
        if dotted not in signatures:
            signatures[dotted] = _signature_of(ctx, dotted)
        known = signatures[dotted]
        if known is None:
            continue
        signature, target = known
        try:
            signature.bind(*range(len(node.args)), **_keywords(signature, node))
        except TypeError as error:
            yield _finding(ctx, node, dotted, signature, target, str(error))


def _keywords(signature: inspect.Signature, call: ast.Call) -> dict[str, None]:
    """The call's keywords; with ``**kwargs`` a keyword named like a positional-only parameter
    lands in ``kwargs`` (``Counter(iterable=...)``), which ``Signature.bind`` would refuse."""
    keywords = {k.arg: None for k in call.keywords if k.arg}
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        positional_only = {p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_ONLY}
        keywords = {name: None for name in keywords if name not in positional_only}
    return keywords


def _imported_names(tree: ast.Module) -> set[str]:
    """Names bound by the module's own top-level (unguarded) import statements."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            names |= {alias.asname or alias.name for alias in statement.names if alias.asname or "." not in alias.name}
        elif isinstance(statement, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in statement.names if alias.name != "*"}
    return names


def _spreads(call: ast.Call) -> bool:
    return any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords)


def _callee(func: ast.expr, imported: set[str]) -> str | None:
    """``f`` or ``module.f`` with the head bound by an import; anything else is not judged."""
    if isinstance(func, ast.Name) and func.id in imported:
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in imported:
        return f"{func.value.id}.{func.attr}"
    return None


def _signature_of(ctx: FileContext, dotted: str) -> tuple[inspect.Signature, StoredDefinition] | None:
    targets = _callee_definitions(ctx, dotted)
    if targets is None or len(targets) != 1:
        return None
    target = targets[0]
    if target.path == ctx.path or not is_python(target.path) or target.ord < 0:
        return None
    definition = target.definition
    if definition.kind == "function" and definition.parent == -1:
        if _decorators(ctx, target) or _defined_twice(ctx, target):
            return None
        signature = _parse_signature(definition.signature, drop_first=False)
    elif definition.kind == "class":
        signature = _class_signature(ctx, target)
    else:
        return None
    return (signature, target) if signature is not None else None


def _callee_definitions(ctx: FileContext, dotted: str) -> list[StoredDefinition] | None:
    """What ``f`` or ``module.f`` denotes through this file's import of its head, followed strictly
    (never the index's best guess); None when that is not certain."""
    head, _, attribute = dotted.partition(".")
    rows = [r for r in ctx.rows if r.name != "*" and bound_name(r) == head]
    if len(rows) != 1 or not rows[0].targets or not ctx.facts.is_judged(rows[0].module):
        return None  # outside the workspace, or bound twice
    row = rows[0]
    whole_module = row.name is None or any(imports_submodule(row, t) for t in row.targets)
    if whole_module != bool(attribute) or (row.name is None and "." in row.module and not row.alias):
        return None  # `Class.method(...)`, or `import a.b` (which binds `a`)
    found = [ctx.facts.lookup(t, attribute or row.name) for t in row.targets]
    return None if any(f is None for f in found) else [d for f in found for d in f]


def _class_signature(ctx: FileContext, target: StoredDefinition) -> inspect.Signature | None:
    header = target.definition.signature
    if "metaclass" in header or _defined_twice(ctx, target) or ctx.ws.index.members(target, "__new__"):
        return None
    decorators = _decorators(ctx, target)
    inits = ctx.ws.index.members(target, "__init__")
    if len(inits) == 1 and not decorators:
        init = inits[0]
        inherited = (init.path, init.definition.parent) != (target.path, target.ord)
        if _decorators(ctx, init) or inherited and "," in header:
            return None  # with several bases, an inherited __init__ may not be the one that runs
        return _parse_signature(init.definition.signature, drop_first=True)
    if inits or "(" in header.split(":", 1)[0].removeprefix("class"):
        return None  # several __init__ candidates, or bases that may bring their own
    if not decorators:
        return inspect.Signature()
    if len(decorators) == 1:
        match = _DATACLASS.match(decorators[0])
        if match and not re.search(r"\b(?:init|kw_only)\s*=", match.group("args") or ""):
            return _dataclass_signature(ctx, target)
    return None


def _dataclass_signature(ctx: FileContext, target: StoredDefinition) -> inspect.Signature | None:
    parameters = []
    for member in ctx.ws.index.definitions(target.path):
        if member.definition.parent != target.ord or member.definition.kind != "field":
            continue
        text = ctx.lines.line(target.path, member.definition.name_line - 1).strip()
        try:
            statement = ast.parse(text).body[0]
        except (SyntaxError, IndexError, ValueError):
            return None
        if not isinstance(statement, ast.AnnAssign):
            continue  # a plain class attribute is no field
        if _SPECIAL_FIELD.search(ast.unparse(statement.annotation)):
            return None
        if isinstance(statement.value, ast.Call):
            return None  # field(...) may set init=False, default_factory, kw_only
        default = inspect.Parameter.empty if statement.value is None else None
        parameters.append(
            inspect.Parameter(member.definition.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
    try:
        return inspect.Signature(parameters)
    except ValueError:
        return None


def _decorators(ctx: FileContext, target: StoredDefinition) -> list[str]:
    first, name_line = target.definition.start_line, target.definition.name_line
    lines = [ctx.lines.line(target.path, line).strip() for line in range(first - 1, name_line - 1)]
    return [line for line in lines if line.startswith("@")]


def _defined_twice(ctx: FileContext, target: StoredDefinition) -> bool:
    """Conditional or overloaded definitions: which one runs is not known statically."""
    same = ctx.ws.index.store.definitions_named(target.definition.name, target.path)
    return sum(1 for d in same if d.definition.parent == target.definition.parent) > 1


def _parse_signature(header: str, drop_first: bool) -> inspect.Signature | None:
    """An inspect.Signature from a ``def`` header as the index stores it (one line, no body)."""
    header = header.strip()
    if not re.match(r"(async\s+)?def\s", header):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            function = ast.parse(header + ":\n    pass").body[0]
    except (SyntaxError, ValueError, IndexError):
        return None  # a header cut at the stored length, or one we cannot read: not judged
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = function.args
    P = inspect.Parameter
    positional = [(a.arg, P.POSITIONAL_ONLY) for a in args.posonlyargs] + [
        (a.arg, P.POSITIONAL_OR_KEYWORD) for a in args.args
    ]
    defaults = [P.empty] * (len(positional) - len(args.defaults)) + [None] * len(args.defaults)
    parameters = [P(name, kind, default=default) for (name, kind), default in zip(positional, defaults, strict=True)]
    if drop_first:
        if not parameters:
            return None if args.vararg is None else inspect.Signature([P(args.vararg.arg, P.VAR_POSITIONAL)])
        parameters = parameters[1:]
    if args.vararg:
        parameters.append(P(args.vararg.arg, P.VAR_POSITIONAL))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parameters.append(P(arg.arg, P.KEYWORD_ONLY, default=P.empty if default is None else None))
    if args.kwarg:
        parameters.append(P(args.kwarg.arg, P.VAR_KEYWORD))
    try:
        return inspect.Signature(parameters)
    except ValueError:
        return None


def _finding(
    ctx: FileContext, call: ast.Call, dotted: str, signature: inspect.Signature, target: StoredDefinition, why: str
) -> Finding:
    line = call.func.lineno - 1
    start = ctx.column(line, call.func.col_offset)
    end_line = (call.func.end_lineno or call.func.lineno) - 1
    end = ctx.column(end_line, call.func.end_col_offset or call.func.col_offset)
    where = f"{target.path}:{target.definition.name_line}"
    message = f"{dotted}(...): {why}; it takes ({describe(signature)}), defined at {where}"
    return Finding(ctx.path, Range.of(line, start, end_line, end), "error", "call-arguments", message)


def describe(signature: inspect.Signature) -> str:
    """Parameters as a reader wants them: names, `=…` for optional ones, `*`/`**` for variadic."""
    parts = []
    starred = False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            starred = True
            parts.append(f"*{parameter.name}")
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
            parts.append(f"**{parameter.name}")
        else:
            optional = parameter.default is not inspect.Parameter.empty
            parts.append(parameter.name + ("=…" if optional else ""))
    return ", ".join(parts)
