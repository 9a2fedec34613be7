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
    "ModelTemplate",
    "ToolCall",
    "ToolSpec",
    "Tokenizer",
    "TokenizerError",
    "Usage",
    "load_tokenizer",
    "template_for",
]
