"""What a workspace module provides, answered leniently: a check may only report a name as
missing when no reading of the module could define it (dynamic modules count as defining all).

Python: top-level definitions (a name listed in ``__all__`` still needs a binding), names bound
by its imports (re-exports), star imports followed into workspace modules (an external star
import could bring anything), a module-level
``__getattr__``, submodules of a package, and any binding the index does not record (assignments
inside ``if``/``try`` blocks, tuple targets, ``for`` and ``with`` targets, ``global``).
JavaScript/TypeScript: the name appears as an identifier in the module, or it re-exports ``*``.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import sys
import warnings
from functools import cached_property, lru_cache
from pathlib import PurePosixPath

from indexer import StoredDefinition

from ..navigate import SourceLines, bound_name, imports_submodule
from ..workspace import Workspace

PYTHON_SUFFIXES = (".py", ".pyi")
SCRIPT_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
NATIVE_SUFFIXES = (".c", ".pyx", ".pxd", ".so", ".pyd", ".cpp", ".rs")
_DYNAMIC = re.compile(  # a module that writes its own namespace could define anything
    r"\bglobals\(\)|\bvars\(\)\s*(?:\[|\.update)|\bsys\.modules\[[^\]\n]+\]\s*=(?!=)|sys\.modules\[__name__\]"
    r"|setattr\(\s*sys\.modules|__dict__\.update\(|\bglobal_enum\b|\._convert_\(|\bexec\("
    r"|^def __getattr__\b|^__getattr__\s*=",
    re.MULTILINE,
)
MODULE_DUNDERS = frozenset(  # what every module has, or its loader sets
    {"__doc__", "__file__", "__name__", "__path__", "__spec__", "__loader__", "__package__", "__builtins__",
     "__dict__", "__cached__", "__annotations__", "__all__"}
)
MAX_STAR_DEPTH = 8
_TWINS = (
    (".d.ts", ".ts", ".tsx", ".js", ".jsx"),
    (".d.cts", ".cts", ".cjs"),
    (".d.mts", ".mts", ".mjs"),
    (".pyi", ".py"),
)


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def is_script(path: str) -> bool:
    return path.endswith(SCRIPT_SUFFIXES)


class ModuleFacts:
    """Lenient answers about workspace modules, cached for one diagnose run."""

    def __init__(self, ws: Workspace, lines: SourceLines) -> None:
        self.ws = ws
        self.lines = lines
        self._provides: dict[tuple[str, str], bool] = {}
        self._bindings: dict[str, set[str] | None] = {}

    def provides(self, module: str, name: str, depth: int = 0) -> bool:
        """Whether workspace module file ``module`` could define ``name``."""
        key = (module, name)
        if key not in self._provides:
            self._provides[key] = True  # an import cycle: assume yes rather than loop
            self._provides[key] = any(self._compute(m, name, depth) for m in self.variants(module))
        return self._provides[key]

    @cached_property
    def packages(self) -> frozenset[str]:
        return workspace_packages(self.ws)

    def is_judged(self, module: str) -> bool:
        """Whether imports of this module spelling are checked: relative ones always, absolute ones
        when their top package is one of the workspace's own."""
        return module.startswith(".") or module.split(".", 1)[0] in self.packages

    def variants(self, module: str) -> list[str]:
        """The module and its indexed twins: source and stub (``x.py``/``x.pyi``), script and
        declarations (``x.js``/``x.d.ts``/``x.ts``, ``x.cjs``/``x.d.cts``, ``x.mjs``/``x.d.mts``)."""
        stem, twins = module, ()
        for suffixes in _TWINS:
            suffix = next((s for s in suffixes if module.endswith(s)), None)
            if suffix is not None:
                stem, twins = module[: -len(suffix)], suffixes
                break
        found = [module] + [stem + s for s in twins if stem + s != module and self.ws.is_indexed(stem + s)]
        return found

    def _compute(self, module: str, name: str, depth: int) -> bool:
        if is_script(module):
            return self._script_provides(module, name)
        if not is_python(module) or depth > MAX_STAR_DEPTH:
            return True
        index = self.ws.index
        if any(d.definition.parent == -1 for d in index.store.definitions_named(name, module)):
            return True
        row = index.store.file(module)
        if row is None:
            return True
        text = self.lines.text(module) or ""
        if _DYNAMIC.search(text):
            return True
        if module not in self._bindings:
            self._bindings[module] = module_bindings(text)
        bound = self._bindings[module]
        if bound is None or name in bound:
            return True
        if self.submodule_exists(module, name):
            return True
        for imp in index.imports_of(module):
            if imp.name == "*":
                if not imp.targets or any(self.provides(t, name, depth + 1) for t in imp.targets):
                    return True
            elif bound_name(imp) == name:
                return True
        return False

    def lookup(self, module: str, name: str, depth: int = 0) -> list[StoredDefinition] | None:
        """The definitions ``name`` denotes in workspace module ``module``, following its imports and
        star imports, never guessing: None when that cannot be known (a dynamic module, an import
        or star import from outside the workspace)."""
        if depth > MAX_STAR_DEPTH or not is_python(module):
            return None
        own = [d for d in self.ws.index.store.definitions_named(name, module) if d.definition.parent == -1]
        if own:
            return own
        rows = self.ws.index.imports_of(module)
        for row in rows:
            if row.name != "*" and bound_name(row) == name:
                if not row.targets or row.name is None or any(imports_submodule(row, t) for t in row.targets):
                    return None  # outside the workspace, or a module: not a callable we can read
                found = [self.lookup(t, row.name, depth + 1) for t in row.targets]
                return None if any(f is None for f in found) else [d for f in found for d in f]
        for row in rows:
            if row.name == "*":
                if not row.targets:
                    return None
                for target in row.targets:
                    found = self.lookup(target, name, depth + 1)
                    if found is None or found:
                        return found
        return None if _DYNAMIC.search(self.lines.text(module) or "") else []

    def _script_provides(self, module: str, name: str) -> bool:
        text = self.lines.text(module) or ""
        if name == "default":
            return "export default" in text or "module.exports" in text or "export {" in text
        return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None or "export *" in text

    def submodule_exists(self, module: str, name: str) -> bool:
        """``name`` is a module of the package ``module`` is the ``__init__`` of (any language's file)."""
        pure = PurePosixPath(module)
        if pure.stem != "__init__":
            return False
        return self.module_file_exists(posixpath.join(str(pure.parent), name))

    def module_file_exists(self, base: str) -> bool:
        """A Python module at ``base`` (no suffix): source, stub, package, or a native extension."""
        folder = self.ws.root / base
        if folder.is_dir():
            return True
        parent = folder.parent
        if not parent.is_dir():
            return False
        stem = folder.name
        return any(
            entry.name == stem + suffix or (entry.name.startswith(stem + ".") and entry.suffix in (".so", ".pyd"))
            for entry in parent.iterdir()
            for suffix in PYTHON_SUFFIXES + NATIVE_SUFFIXES
        )


def module_bindings(text: str) -> set[str] | None:
    """Every name a module binds at module level, inside ``if``/``try``/``with``/``for`` blocks
    too (never inside a function or class body, save ``global``); None when it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    _visit(tree.body, names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    return names


def _visit(statements: list[ast.stmt], names: set[str]) -> None:
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
            continue
        if isinstance(statement, ast.Import):
            names.update(a.asname or a.name.split(".")[0] for a in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            names.update(a.asname or a.name for a in statement.names if a.name != "*")
        elif type(statement).__name__ == "TypeAlias":  # `type X = ...` (Python 3.12+ syntax)
            names.add(statement.name.id)
        for node in ast.walk(statement):  # assignment targets, loop and `with` targets, walrus, match
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                names.add(node.name)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and not isinstance(statement, ast.ClassDef):
                _visit(block, names)
        for handler in getattr(statement, "handlers", ()):
            _visit(handler.body, names)
        for case in getattr(statement, "cases", ()):
            _visit(case.body, names)


PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


@lru_cache(maxsize=64)
def _top_packages(root: str, paths: tuple[str, ...]) -> frozenset[str]:
    packages = {posixpath.dirname(p) for p in paths if posixpath.basename(p) in ("__init__.py", "__init__.pyi")}
    tops = {p for p in packages if p and posixpath.dirname(p) not in packages}
    return frozenset(posixpath.basename(p) for p in tops if _is_source_root(root, posixpath.dirname(p)))


def _is_source_root(root: str, folder: str) -> bool:
    """Where a project's packages are imported from: the workspace root, a ``src`` folder, or a
    folder holding a project file; a package deeper down (test data, vendored examples) is only
    importable through path games no static check can follow."""
    if folder in ("", ".") or posixpath.basename(folder) == "src":
        return True
    return any(os.path.isfile(os.path.join(root, folder, marker)) for marker in PROJECT_MARKERS)


def workspace_packages(ws: Workspace) -> frozenset[str]:
    """Names of the workspace's own top-level Python packages (``src/flask`` gives ``flask``),
    less any that shadow a standard-library module."""
    paths = tuple(sorted(p for p in ws.index.store.paths() if is_python(p)))
    return _top_packages(str(ws.root), paths) - frozenset(sys.stdlib_module_names)


def is_conditional(lines: list[str], line: int) -> bool:
    """Whether the statement at 0-based ``line`` sits inside a ``try``/``if``/``except``/``else``
    block (a guarded import: optional dependencies, ``TYPE_CHECKING``, version switches)."""
    if not 0 <= line < len(lines):
        return False
    indent = _indent(lines[line])
    for above in range(line - 1, -1, -1):
        text = lines[above]
        if not text.strip() or text.lstrip().startswith("#") or _indent(text) >= indent:
            continue
        head = text.strip()
        if re.match(r"(try|if|elif|else|except|finally|with)\b", head):
            return True
        if re.match(r"(async\s+)?(def|class)\b", head):
            return False  # inside a function or class: judge by that block's own guards
        indent = _indent(text)
        if indent == 0:
            return False
    return False


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())
