"""Choosing and ordering the code a model needs for a cursor, inside a token budget."""

from .packer import STRATEGIES, ContextPacker, UnknownStrategy
from .render import render_context, render_fim_prompt
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
    "render_context",
    "render_fim_prompt",
]
