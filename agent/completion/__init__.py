"""The completion pipeline's parts, one concern per module: the type-through cache, the scope rules
(single- or multi-line), the post-processing filters, and index-based symbol items."""

from .cache import TypeThroughCache
from .filters import FILTERS, Surroundings, postprocess
from .scope import line_indent, wants_multiline, word_start
from .symbols import SymbolItem, symbol_items

__all__ = [
    "FILTERS",
    "Surroundings",
    "SymbolItem",
    "TypeThroughCache",
    "line_indent",
    "postprocess",
    "symbol_items",
    "wants_multiline",
    "word_start",
]
