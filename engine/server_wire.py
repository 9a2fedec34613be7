"""OpenAI's wire format for the engine's server: request bodies in, response bodies and chunks out.

Pure functions and dataclasses, no HTTP: the server (engine/server.py) is then only routing and streaming.
Bad input raises `WireError`, which carries the status and OpenAI's error object
(`{"error": {"message", "type", "param", "code"}}`) so every client reads it the way it reads OpenAI's.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from .backends.base import ChatMessage, ChatRequest, Delta, ToolCall, ToolSpec, Usage

ROLES = ("system", "user", "assistant", "tool", "developer")
COMPLETION_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
CHAT_MAX_TOKENS = 1024


class WireError(Exception):
    """A request the server refuses, with the HTTP status and OpenAI-style error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]


@dataclass(frozen=True)
class CompletionCall:
    """A /v1/completions request: `suffix` given means fill-in-the-middle in the model's template."""

    model: str | None
    prompt: str
    suffix: str | None
    sampling: Sampling
    stream: bool
    include_usage: bool


@dataclass(frozen=True)
class ChatCall:
    model: str | None
    request: ChatRequest
    stream: bool
    include_usage: bool


def parse_completion(body: Any) -> CompletionCall:
    body = _object(body)
    _unsupported(body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]  # a batch of one
    if not isinstance(prompt, str):
        raise WireError(400, "`prompt` must be a string (token ids and batches are not supported)", param="prompt")
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise WireError(400, "`suffix` must be a string", param="suffix")
    if not prompt and not suffix:
        raise WireError(400, "`prompt` is empty", param="prompt")
    stream, include_usage = _streaming(body)
    sampling = _sampling(body, COMPLETION_MAX_TOKENS)
    return CompletionCall(_model(body), prompt, suffix, sampling, stream, include_usage)


def parse_chat(body: Any) -> ChatCall:
    body = _object(body)
    _unsupported(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "`messages` must be a non-empty list", param="messages")
    parsed = tuple(_message(message, index) for index, message in enumerate(messages))
    tools = tuple(_tool(tool, index) for index, tool in enumerate(_list(body, "tools")))
    sampling = _sampling(body, CHAT_MAX_TOKENS)
    request = ChatRequest(
        messages=parsed,
        tools=tools,
        max_tokens=sampling.max_tokens,
        stop=sampling.stop,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
    )
    stream, include_usage = _streaming(body)
    return ChatCall(_model(body), request, stream, include_usage)


# --- responses -------------------------------------------------------------------------------------------------


class ResponseBuilder:
    """The bodies of one response: its id and creation time are shared by every chunk, as OpenAI's are."""

    def __init__(self, kind: str, model: str) -> None:
        self.chat = kind == "chat"
        self.id = ("chatcmpl-" if self.chat else "cmpl-") + uuid.uuid4().hex
        self.created = int(time.time())
        self.model = model

    def chunk(self, delta: Delta, *, first: bool = False) -> dict[str, Any]:
        """A streamed chunk: `text` for completions; a `delta` (with the role in the first) for chat."""
        if self.chat:
            part: dict[str, Any] = {"role": "assistant"} if first else {}
            if delta.text or first:
                part["content"] = delta.text
            if delta.tool_calls:
                part["tool_calls"] = [_tool_call_json(call, index) for index, call in enumerate(delta.tool_calls)]
            choice = {"index": 0, "delta": part, "logprobs": None, "finish_reason": delta.finish_reason}
        else:
            choice = {"index": 0, "text": delta.text, "logprobs": None, "finish_reason": delta.finish_reason}
        return self._envelope(self._chunk_kind, [choice])

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        """The extra last chunk `stream_options.include_usage` asks for: no choices, only usage."""
        return {**self._envelope(self._chunk_kind, []), "usage": usage_json(usage)}

    def whole(self, text: str, finish_reason: str, usage: Usage) -> dict[str, Any]:
        """The reply of a request that did not stream."""
        if self.chat:
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
            return {**self._envelope("chat.completion", [choice]), "usage": usage_json(usage)}
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}
        return {**self._envelope("text_completion", [choice]), "usage": usage_json(usage)}

    @property
    def _chunk_kind(self) -> str:
        return "chat.completion.chunk" if self.chat else "text_completion"

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model, "choices": choices}


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def model_json(name: str, context_window: int, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "wholerepo", "max_model_len": context_window}


def unknown_model(requested: str, served: str) -> WireError:
    message = f"The model `{requested}` does not exist; this server serves `{served}`."
    return WireError(404, message, param="model", code="model_not_found")


def context_too_long(message: str, window: int) -> WireError:
    text = f"This model's maximum context length is {window} tokens: {message}"
    return WireError(400, text, param="prompt", code="context_length_exceeded")


# --- request fields ----------------------------------------------------------------------------------------------


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise WireError(400, "the request body must be a JSON object")
    return body


def _unsupported(body: dict[str, Any]) -> None:
    """Options that would change the reply's shape: refused rather than silently ignored."""
    for name in ("n", "best_of"):
        if body.get(name) not in (None, 1):
            raise WireError(400, f"`{name}` must be 1: the local engine writes one reply", param=name)
    if body.get("echo"):
        raise WireError(400, "`echo` is not supported by the local engine", param="echo")
    if body.get("logprobs") not in (None, False, 0):
        raise WireError(400, "`logprobs` is not supported by the local engine", param="logprobs")


def _model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise WireError(400, "`model` must be a string", param="model")
    return model


def _streaming(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise WireError(400, "`stream` must be true or false", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise WireError(400, "`stream_options` must be an object", param="stream_options")
    return stream, bool(options.get("include_usage")) and stream


def _sampling(body: dict[str, Any], default_max_tokens: int) -> Sampling:
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    if max_tokens is None:
        max_tokens = default_max_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise WireError(400, f"`max_tokens` must be a positive integer, not {max_tokens!r}", param="max_tokens")
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
    if top_p <= 0:
        raise WireError(400, "`top_p` must be above 0", param="top_p")
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if stop is not None else []
    if not isinstance(stops, list) or not all(isinstance(item, str) and item for item in stops):
        raise WireError(400, "`stop` must be a non-empty string or a list of them", param="stop")
    return Sampling(max_tokens, temperature, top_p, tuple(stops))


def _number(body: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise WireError(400, f"`{name}` must be a number from {low:g} to {high:g}, not {value!r}", param=name)
    return float(value)


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name) or []
    if not isinstance(value, list):
        raise WireError(400, f"`{name}` must be a list", param=name)
    return value


def _message(raw: Any, index: int) -> ChatMessage:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise WireError(400, f"`{where}` must be an object", param=where)
    role = raw.get("role")
    if role not in ROLES:
        raise WireError(400, f"`{where}.role` must be one of {', '.join(ROLES)}, not {role!r}", param=where)
    calls = tuple(_call(call, f"{where}.tool_calls[{n}]") for n, call in enumerate(raw.get("tool_calls") or ()))
    tool_call_id = raw.get("tool_call_id")
    if tool_call_id is not None and not isinstance(tool_call_id, str):
        raise WireError(400, f"`{where}.tool_call_id` must be a string", param=where)
    role = "system" if role == "developer" else role  # OpenAI's newer name for the system role
    return ChatMessage(role, _content(raw.get("content"), where), calls, tool_call_id)


def _content(content: Any, where: str) -> str:
    """Text content: a string, null, or a list of `{"type": "text", "text": ...}` parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise WireError(400, f"`{where}.content` may hold only text parts", param=where)
            texts.append(part["text"])
        return "".join(texts)
    raise WireError(400, f"`{where}.content` must be text", param=where)


def _call(raw: Any, where: str) -> ToolCall:
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise WireError(400, f"`{where}` must be a function call with a name", param=where)
    arguments = function.get("arguments") or ""
    return ToolCall(str(raw.get("id") or ""), function["name"], arguments if isinstance(arguments, str) else "")


def _tool(raw: Any, index: int) -> ToolSpec:
    function = raw.get("function") if isinstance(raw, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise WireError(400, f"`tools[{index}]` must be a function with a name", param=f"tools[{index}]")
    return ToolSpec(function["name"], str(function.get("description") or ""), function.get("parameters") or {})


def _tool_call_json(call: ToolCall, index: int) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"index": index, "id": call.id, "type": "function", "function": function}
