"""The model runtime: one Backend interface over the embedded torch engine and remote servers.

Others use only what is named here.
"""

import os as _os

# The embedded engine shares the machine with the editor. OpenMP threads that spin while they wait for work
# starve each other when the cores are busy: on a loaded 2-core machine decode ran at 3-6 tokens/s with
# spinning threads and 20-43 with passive ones. Set before torch loads its OpenMP runtime; a user's own
# setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
from .backends.vllm_launch import VllmLaunchError, VllmLaunchSettings, VllmServer, find_vllm, launch_vllm, vllm_argv
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
    "EngineServeError",
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
    "VllmLaunchError",
    "VllmLaunchSettings",
    "VllmServer",
    "find_vllm",
    "launch_vllm",
    "load_tokenizer",
    "serve_local",
    "start_in_thread",
    "template_for",
    "vllm_argv",
]


def __getattr__(name: str):
    """The local backend and its server import torch (about a second): loaded on first use, not at import."""
    if name in ("LocalBackend", "LocalSettings"):
        from .backends import local

        return getattr(local, name)
    if name in ("EngineServeError", "serve_local", "start_in_thread"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
