"""Whether a new name can be an identifier of the language it is going into."""

from __future__ import annotations

import keyword
import re

from .errors import RefactorError

_JS_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*", re.ASCII)
_GO_IDENTIFIER = re.compile(r"[A-Za-z_]\w*", re.ASCII)
JS_RESERVED = frozenset(
    "break case catch class const continue debugger default delete do else enum export extends false finally "
    "for function if import in instanceof new null return super switch this throw true try typeof var void "
    "while with yield let static implements interface package private protected public await arguments eval "
    "undefined".split()
)
GO_KEYWORDS = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if import interface map "
    "package range return select struct switch type var".split()
)


def check_identifier(path: str, name: str) -> None:
    """Raise RefactorError unless ``name`` is a usable identifier in ``path``'s language."""
    if path.endswith((".py", ".pyi")):
        if not name.isidentifier():
            raise RefactorError(f"'{name}' is not a Python identifier")
        if keyword.iskeyword(name) or name in ("None", "True", "False"):
            raise RefactorError(f"'{name}' is a Python keyword")
        return
    if path.endswith(".go"):
        if not _GO_IDENTIFIER.fullmatch(name):
            raise RefactorError(f"'{name}' is not a Go identifier")
        if name in GO_KEYWORDS:
            raise RefactorError(f"'{name}' is a Go keyword")
        return
    if not _JS_IDENTIFIER.fullmatch(name):
        raise RefactorError(f"'{name}' is not a JavaScript/TypeScript identifier")
    if name in JS_RESERVED:
        raise RefactorError(f"'{name}' is a reserved word in JavaScript/TypeScript")
