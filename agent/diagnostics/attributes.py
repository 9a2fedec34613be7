"""``module.name`` where ``module`` is a workspace module that does not define ``name`` — the
reference left behind when a function is removed or renamed in another file."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..edits import Range
from .context import FileContext
from .finding import Finding
from .modules import imports_submodule, is_conditional, is_python


def check_module_attributes(ctx: FileContext) -> Iterator[Finding]:
    if ctx.tree is None:
        return
    modules = _module_bindings(ctx)
    if not modules:
        return
    assigned = {
        (node.value.id, node.attr)
        for node in ast.walk(ctx.tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and not isinstance(node.ctx, ast.Load)
    }
    text = "\n".join(ctx.text_lines)
    for node in ast.walk(ctx.tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        name, attr = node.value.id, node.attr
        targets = modules.get(name)
        if not targets or attr.startswith("__") or (name, attr) in assigned or f"hasattr({name}" in text:
            continue
        if any(ctx.facts.provides(target, attr) for target in targets):
            continue
        line = (node.end_lineno or node.lineno) - 1
        end = ctx.column(line, node.end_col_offset or 0)
        message = f"'{attr}' is not defined in module {name} ({', '.join(targets)})"
        at = Range.of(line, end - len(attr), line, end)
        yield Finding(ctx.path, at, "error", "unknown-module-attribute", message)


def _module_bindings(ctx: FileContext) -> dict[str, tuple[str, ...]]:
    """Local names bound to a workspace Python module by an unguarded import, never rebound."""
    found: dict[str, tuple[str, ...]] = {}
    for row in ctx.rows:
        targets = tuple(t for t in row.targets if is_python(t))
        if not targets or row.name == "*" or not ctx.facts.is_judged(row.module):
            continue
        if is_conditional(ctx.text_lines, row.line - 1):
            continue
        if row.name is None:
            if row.alias is None and "." in row.module:
                continue  # `import a.b` binds `a`, whose attributes are not this file's
            local = row.alias or row.module
        elif any(imports_submodule(row, t) for t in targets):
            local = row.alias or row.name  # `from pkg import submodule`
        else:
            continue
        if local not in ctx.rebound and "." not in local:
            found[local] = targets
    return found
