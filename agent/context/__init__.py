"""Choosing and ordering the code a model needs for a cursor, inside a token budget."""

from .packer import STRATEGIES, ContextPacker, UnknownStrategy
from .types import Cursor, CursorWindow, Edit, Pack, PackItem, PackRequest

__all__ = [
    "STRATEGIES",
    "ContextPacker",
    "Cursor",
    "CursorWindow",
    "Edit",
    "Pack",
    "PackItem",
    "PackRequest",
    "UnknownStrategy",
]
