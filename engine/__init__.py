"""The model runtime: one Backend interface over the embedded torch engine and remote servers.

Others use only what is named here.
"""

from .backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    ChatRequest,
    ContextTooLong,
    Delta,
    FimRequest,
    ModelInfo,
    ToolCall,
    ToolSpec,
    Usage,
)
from .backends.openai import OpenAIBackend, OpenAISettings
from .templates import TEMPLATES, ModelTemplate, template_for
from .tokenizer import Tokenizer, TokenizerError, load_tokenizer

__all__ = [
    "TEMPLATES",
    "Backend",
    "BackendError",
    "ChatMessage",
    "ChatRequest",
    "ContextTooLong",
    "Delta",
    "FimRequest",
    "ModelInfo",
    "LocalBackend",
    "LocalSettings",
    "ModelTemplate",
    "OpenAIBackend",
    "OpenAISettings",
    "ToolCall",
    "ToolSpec",
    "Tokenizer",
    "TokenizerError",
    "Usage",
    "load_tokenizer",
    "template_for",
]


def __getattr__(name: str):
    """The local backend imports torch (about a second): loaded on first use, not at import."""
    if name in ("LocalBackend", "LocalSettings"):
        from .backends import local

        return getattr(local, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
