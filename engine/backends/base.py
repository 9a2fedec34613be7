"""The one interface agent/ uses for every model, local or remote.

Both calls stream: `fim` and `chat` are async generators of `Delta`s. Cancelling is plain asyncio —
cancel the consuming task or `aclose()` the generator — and a backend must release what it holds
(close the HTTP stream, stop decoding) when that happens.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..templates import ModelTemplate
from ..tokenizer import Tokenizer


@dataclass(frozen=True)
class FimRequest:
    prefix: str
    suffix: str = ""
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call, described by a JSON schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens served from the engine's prefix cache, when it says


@dataclass(frozen=True)
class Delta:
    """One streamed piece. The last one carries `finish_reason` (and `usage` when known)."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None  # "stop" | "length" | "tool_calls" | "cancelled"
    usage: Usage | None = None


@dataclass(frozen=True)
class ModelInfo:
    """What agent/ must know to build a prompt for this model."""

    backend: str
    model: str
    context_window: int
    template: ModelTemplate
    tokenizer: Tokenizer
    notes: tuple[str, ...] = field(default=())  # e.g. "token counts are estimates"

    @property
    def exact_tokens(self) -> bool:
        return self.tokenizer.exact


class BackendError(RuntimeError):
    """A model call failed in a way the user should read: unreachable, unauthorised, unknown model..."""

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class ContextTooLong(BackendError):
    def __init__(self, message: str) -> None:
        super().__init__(message, kind="context_too_long")


class Backend(abc.ABC):
    """A model behind one interface; see the module docstring for streaming and cancelling."""

    @property
    @abc.abstractmethod
    def info(self) -> ModelInfo: ...

    @abc.abstractmethod
    def fim(self, request: FimRequest) -> AsyncIterator[Delta]:
        """Stream the middle between `prefix` and `suffix`."""

    @abc.abstractmethod
    def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        """Stream the assistant's reply (text and tool calls)."""

    def count_tokens(self, text: str) -> int:
        return self.info.tokenizer.count(text)

    async def aclose(self) -> None:
        """Release connections or memory; the backend is unusable afterwards."""
        return None

    async def complete_fim(self, request: FimRequest) -> str:
        """The whole middle, for callers that do not stream."""
        return "".join([delta.text async for delta in self.fim(request)])

    async def complete_chat(self, request: ChatRequest) -> tuple[str, tuple[ToolCall, ...]]:
        texts: list[str] = []
        calls: list[ToolCall] = []
        async for delta in self.chat(request):
            texts.append(delta.text)
            calls.extend(delta.tool_calls)
        return "".join(texts), tuple(calls)
