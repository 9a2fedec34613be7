"""The language registry: every module in this package that defines ``SPECS`` is a language.

Adding a language means adding one module here; nothing else in the indexer names languages.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import PurePath

from .base import LanguageSpec

__all__ = ["LanguageSpec", "all_languages", "language_for_path", "language_named"]


@cache
def all_languages() -> dict[str, LanguageSpec]:
    """Every registered language by name, in a stable order."""
    found: dict[str, LanguageSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for spec in getattr(module, "SPECS", ()):
            found[spec.name] = spec
    return found


@cache
def _by_extension() -> dict[str, LanguageSpec]:
    table: dict[str, LanguageSpec] = {}
    for spec in all_languages().values():
        for extension in spec.extensions:
            table.setdefault(extension, spec)
    return table


def language_for_path(path: str | PurePath) -> LanguageSpec | None:
    """The language a file is indexed as, chosen by its extension; None for other files."""
    suffix = PurePath(path).suffix.lower()
    return _by_extension().get(suffix)


def language_named(name: str) -> LanguageSpec:
    return all_languages()[name]
