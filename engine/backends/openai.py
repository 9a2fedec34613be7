"""The `openai` backend: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, the DeepSeek API).

Spoken over plain httpx so that streaming, cancelling and retries are ours to see: a request is retried
(429, 5xx, connection failures) only before its stream starts, and closing the generator closes the HTTP
response, so the server stops generating for a completion nobody will read.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import json
import os
import random
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from ..templates import ModelTemplate, template_for
from ..tokenizer import load_tokenizer
from .base import (
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
from .sse import sse_json

DEFAULT_CONTEXT_WINDOW = 32768
MAX_STOPS = 4  # stop sequences per request: OpenAI's documented limit, enforced by vLLM
ESTIMATE_NOTE = "token counts are estimates (about 4 characters a token): set `tokenizer` for exact budgets"
# Phrases servers use when the prompt does not fit (OpenAI, vLLM, SGLang, llama.cpp, Ollama, DeepSeek).
CONTEXT_TOO_LONG_HINTS = (
    "maximum context length",
    "context_length_exceeded",
    "context length",
    "context window",
    "too many tokens",
    "exceed_context_size",
    "exceeds the available context",
    "prompt is too long",
    "input is too long",
)
# Hosted APIs that do FIM from `suffix` themselves and treat special tokens in the prompt as plain text.
HOSTED_SUFFIX_APIS = ("api.deepseek.com",)
_sleep = asyncio.sleep  # the retry wait; tests replace it to see the delays without waiting them


@dataclass(frozen=True)
class OpenAISettings:
    base_url: str  # "http://host:8000" gets "/v1" added; a URL with a path ("/v1", "/beta") is kept
    model: str
    api_key_env: str | None = None  # the NAME of the environment variable holding the key, never the key
    tokenizer: str | None = None  # "deepseek" | "estimate" | a tokenizer.json path; None: guess from the model
    template: str | None = None  # a name in engine.templates.TEMPLATES; None: template_for(model)
    context_window: int | None = None  # None: the server's max_model_len when it says, else 32768
    connect_timeout: float = 5.0
    read_timeout: float = 120.0  # longest silence, including the wait for the first token of a long prompt
    max_retries: int = 2
    backoff_base: float = 0.5
    max_retry_wait: float = 30.0  # a Retry-After longer than this fails at once rather than stall the editor
    fim_mode: Literal["auto", "suffix", "template"] = "auto"
    extra_body: dict[str, Any] = field(default_factory=dict)  # server-specific fields sent with every request

    @property
    def api_url(self) -> str:
        url = self.base_url.rstrip("/")
        return url if urlsplit(url).path else f"{url}/v1"


@dataclass(frozen=True)
class RemoteModel:
    id: str
    max_model_len: int | None = None


class OpenAIBackend(Backend):
    def __init__(self, settings: OpenAISettings, *, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        template = template_for(settings.model, settings.template)
        self.fim_mode = _resolve_fim_mode(settings, template)
        tokenizer = load_tokenizer(_tokenizer_spec(settings))
        self._info = ModelInfo(
            backend="openai",
            model=settings.model,
            context_window=settings.context_window or DEFAULT_CONTEXT_WINDOW,
            template=template,
            tokenizer=tokenizer,
            notes=() if tokenizer.exact else (ESTIMATE_NOTE,),
        )
        self._timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    @property
    def info(self) -> ModelInfo:
        return self._info

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the two streaming calls ------------------------------------------------------------------

    async def fim(self, request: FimRequest) -> AsyncIterator[Delta]:
        finish, usage = None, None
        async with self._stream("/completions", self._fim_body(request)) as payloads:
            async for payload in payloads:
                usage = _usage(payload.get("usage")) or usage
                for choice in self._choices(payload):
                    if text := _text(choice, "text"):
                        yield Delta(text=text)
                    finish = choice.get("finish_reason") or finish
        yield Delta(finish_reason=finish or "stop", usage=usage)

    async def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        finish, usage, calls = None, None, _ToolCallAssembler()
        async with self._stream("/chat/completions", self._chat_body(request)) as payloads:
            async for payload in payloads:
                usage = _usage(payload.get("usage")) or usage
                for choice in self._choices(payload):
                    delta = choice.get("delta") or choice.get("message") or {}  # "message": a non-streamed reply
                    calls.add(delta.get("tool_calls") or ())
                    finish = choice.get("finish_reason") or finish
                    text, complete = _text(delta, "content"), calls.take() if finish else ()
                    if text or complete:
                        yield Delta(text=text, tool_calls=complete)
        yield Delta(tool_calls=calls.take(), finish_reason=finish or "stop", usage=usage)

    def _fim_body(self, request: FimRequest) -> dict[str, Any]:
        template = self._info.template
        body: dict[str, Any] = {"model": self.settings.model, **_sampling(request)}
        if self.fim_mode == "template":
            body["prompt"] = template.fim(request.prefix, request.suffix)
        else:
            body["prompt"] = request.prefix
            if request.suffix:  # some servers (vLLM) reject `suffix` outright, so send it only when needed
                body["suffix"] = request.suffix
        # OpenAI takes at most MAX_STOPS and vLLM refuses more (a 400): the caller's stops first, then the template's
        # (whose first is the end-of-text token, which ends generation anyway).
        if stop := list(dict.fromkeys((*request.stop, *template.stop)))[:MAX_STOPS]:
            body["stop"] = stop
        return {**body, **self.settings.extra_body}

    def _chat_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [_message_json(message) for message in request.messages],
            **_sampling(request),
        }
        if request.tools:
            body["tools"] = [_tool_json(tool) for tool in request.tools]
        if request.stop:
            body["stop"] = list(request.stop)
        return {**body, **self.settings.extra_body}

    def _choices(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The first choice of a chunk; a chunk with neither choices nor usage is not OpenAI's format."""
        if "error" in payload:
            raise self._error(_error_status(payload), payload)
        choices = payload.get("choices")
        if choices is None and "usage" in payload:
            return []
        if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
            message = f"malformed reply from {self.settings.api_url}: no `choices` in {str(payload)[:200]}"
            raise BackendError(message, kind="malformed")
        return [choice for choice in choices if choice.get("index", 0) == 0]

    # -- models and status ------------------------------------------------------------------------

    async def list_models(self) -> list[RemoteModel]:
        """GET /models: what the server serves, with vLLM's `max_model_len` when present."""
        response = await self._send("GET", "/models")
        try:
            body = json.loads(await response.aread())
            entries = body["data"]
            return [RemoteModel(entry["id"], _int_or_none(entry.get("max_model_len"))) for entry in entries]
        except (ValueError, KeyError, TypeError) as error:
            raise BackendError(f"malformed /models reply from {self.settings.api_url}", kind="malformed") from error
        except httpx.TransportError as error:
            raise self._transport_error(error) from error
        finally:
            await response.aclose()

    async def discover(self) -> RemoteModel | None:
        """Look the model up on the server and take its context window; None when it is not listed."""
        return self._adopt(await self.list_models())

    def _adopt(self, models: list[RemoteModel]) -> RemoteModel | None:
        wanted = self.settings.model
        entry = next((model for model in models if model.id in (wanted, f"{wanted}:latest")), None)  # Ollama tags
        if entry and entry.max_model_len:  # a configured window may be smaller, never larger than the server's
            window = min(self.settings.context_window or entry.max_model_len, entry.max_model_len)
            self._info = replace(self._info, context_window=window)
        return entry

    async def check(self) -> str:
        """One line for the status notification: ready, or what is wrong and what to do."""
        name = f"{self.settings.model} @ {self.settings.api_url}"
        try:
            models = await self.list_models()
        except BackendError as error:
            return f"openai {name}: {error}"
        if self._adopt(models) is None:
            served = ", ".join(model.id for model in models) or "nothing"
            return f"openai {name}: model not served (the server has: {served})"
        status = f"openai {name}: ready, {self._info.context_window:,}-token window, FIM by {self.fim_mode}"
        return "; ".join((status, *self._info.notes))

    # -- HTTP: sending with retries, streaming, errors ----------------------------------------------

    @asynccontextmanager
    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """The JSON chunks of a streamed reply; leaving the block (done, error, cancel) closes the response."""
        response = await self._send("POST", path, {**body, "stream": True, "stream_options": {"include_usage": True}})
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                yield _single(json.loads(await response.aread()))  # a server or proxy that would not stream
            else:
                content_type = response.headers.get("content-type", "")
                yield sse_json(_event_lines(response.aiter_lines(), self.settings.api_url, content_type))
        except json.JSONDecodeError as error:
            raise BackendError(f"malformed reply from {self.settings.api_url}: not JSON", kind="malformed") from error
        except httpx.TransportError as error:
            raise self._transport_error(error, streaming=True) from error
        finally:
            await response.aclose()

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """The response once its status is 2xx, retrying what failed before any of it was read."""
        url = self.settings.api_url + path
        request = self._client.build_request(method, url, json=body, headers=self._headers(), timeout=self._timeout)
        for attempt in range(self.settings.max_retries + 1):
            retry_after = None
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TransportError as error:
                failure, cause = self._transport_error(error), error
            else:
                if response.is_success:
                    return response
                retry_after = response.headers.get("retry-after")
                failure, cause = self._error(response.status_code, await _read_error_body(response)), None
            delay = retry_delay(attempt, self.settings.backoff_base, retry_after)
            if not failure.retryable or attempt == self.settings.max_retries:
                raise failure from cause
            if delay > self.settings.max_retry_wait:
                raise BackendError(f"{failure} (the server asks to wait {delay:.0f} s)", kind=failure.kind) from cause
            await _sleep(delay)
        raise AssertionError("unreachable")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.settings.api_key_env or "", "")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _error(self, status: int | None, body: Any) -> BackendError:
        """A clear error from an error status or an error object inside the stream."""
        message = _server_message(body)
        url = self.settings.api_url
        if status in (401, 403):
            return BackendError(f"unauthorised ({status}) at {url}: {self._key_advice()}", kind="unauthorised")
        if any(hint in message.lower() for hint in CONTEXT_TOO_LONG_HINTS):
            return ContextTooLong(f"prompt too long for {self.settings.model} at {url}: {message}")
        if status and _is_unknown_model(status, message):
            return BackendError(f"unknown model {self.settings.model!r} at {url}: {message}", kind="unknown_model")
        if status == 404:
            return BackendError(f"not found at {url}: {message} (check base_url)", kind="not_found")
        if status == 429:
            return BackendError(f"rate limited by {url}: {message}", kind="rate_limited", retryable=True)
        if status is None or status >= 500:
            label = f"server error {status}" if status else "server error"
            return BackendError(f"{label} from {url}: {message}", kind="server", retryable=True)
        return BackendError(f"{url} refused the request ({status}): {message}", kind="bad_request")

    def _key_advice(self) -> str:
        env = self.settings.api_key_env
        if not env:
            return "the server wants an API key: put it in an environment variable and name it in `api_key_env`"
        return f"set ${env}" + ("" if os.environ.get(env) else " (it is not set where wholerepo runs)")

    def _transport_error(self, error: httpx.TransportError, *, streaming: bool = False) -> BackendError:
        url, settings = self.settings.api_url, self.settings
        if isinstance(error, httpx.ConnectTimeout):
            reason = f"no connection within {settings.connect_timeout} s (connect_timeout)"
            return BackendError(f"cannot reach {url}: {reason}", kind="unreachable", retryable=True)
        if isinstance(error, httpx.ConnectError):
            return BackendError(f"cannot reach {url}: {_connect_reason(error)}", kind="unreachable", retryable=True)
        where = "mid-stream" if streaming else "before replying"
        if isinstance(error, httpx.TimeoutException):
            message = f"{url} sent nothing for {settings.read_timeout} s {where} (read_timeout)"
            return BackendError(message, kind="timeout")
        message = f"{url} closed the connection {where}: {error or type(error).__name__}"
        return BackendError(message, kind="disconnected", retryable=not streaming)


# -- pure helpers ----------------------------------------------------------------------------------


def _tokenizer_spec(settings: OpenAISettings) -> str:
    if settings.tokenizer:
        return settings.tokenizer
    return "deepseek" if "deepseek" in settings.model.lower() else "estimate"


def _resolve_fim_mode(settings: OpenAISettings, template: ModelTemplate) -> str:
    mode = settings.fim_mode
    if mode not in ("auto", "suffix", "template"):
        raise BackendError(f"fim_mode must be 'auto', 'suffix' or 'template', not {mode!r}", kind="config")
    if mode == "template" and not template.has_fim:
        message = f"fim_mode 'template' needs a FIM template, and {settings.model!r} has none: set `template`"
        raise BackendError(message, kind="config")
    if mode == "auto":
        hosted = urlsplit(settings.api_url).hostname in HOSTED_SUFFIX_APIS
        return "template" if template.has_fim and not hosted else "suffix"
    return mode


def _sampling(request: FimRequest | ChatRequest) -> dict[str, Any]:
    return {"max_tokens": request.max_tokens, "temperature": request.temperature, "top_p": request.top_p}


def _message_json(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _tool_json(tool: ToolSpec) -> dict[str, Any]:
    function = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return {"type": "function", "function": function}


class _ToolCallAssembler:
    """Streamed tool calls arrive as pieces keyed by `index`: the id and name once, the arguments in slices."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, Any]] = {}

    def add(self, pieces: Any) -> None:
        for piece in pieces:
            function = (piece.get("function") or {}) if isinstance(piece, dict) else None
            if not isinstance(function, dict):
                raise BackendError(f"malformed tool call piece: {str(piece)[:200]}", kind="malformed")
            index = piece.get("index", len(self._parts))
            part = self._parts.setdefault(index, {"id": None, "name": "", "arguments": []})
            part["id"] = part["id"] or piece.get("id")
            part["name"] += function.get("name") or ""
            part["arguments"].append(function.get("arguments") or "")

    def take(self) -> tuple[ToolCall, ...]:
        """The calls gathered so far, all complete once the choice has finished."""
        calls = []
        for index, part in sorted(self._parts.items()):
            if not part["name"]:
                raise BackendError(f"malformed tool call at index {index}: no function name", kind="malformed")
            calls.append(ToolCall(part["id"] or f"call_{index}", part["name"], "".join(part["arguments"])))
        self._parts.clear()
        return tuple(calls)


def _text(part: dict[str, Any], key: str) -> str:
    value = part.get(key) or ""
    if not isinstance(value, str):
        raise BackendError(f"malformed reply: `{key}` is not text: {value!r}", kind="malformed")
    return value


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    details = raw.get("prompt_tokens_details") or {}
    # vLLM, SGLang and OpenAI report prompt_tokens_details.cached_tokens; the DeepSeek API prompt_cache_hit_tokens.
    cached = details.get("cached_tokens") or raw.get("prompt_cache_hit_tokens") or 0
    return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0), int(cached))


async def _event_lines(lines: AsyncIterator[str], url: str, content_type: str) -> AsyncIterator[str]:
    """The body's lines; a body without a single `data:` line (an HTML page, a proxy's text) is malformed,
    where it would otherwise read as a model that had nothing to say."""
    has_data = False
    async for line in lines:
        has_data = has_data or line.startswith("data:")
        yield line
    if not has_data:
        body = content_type or "untyped"
        raise BackendError(f"malformed reply from {url}: no server-sent events in its {body} body", kind="malformed")


async def _single(payload: Any) -> AsyncIterator[dict[str, Any]]:
    if not isinstance(payload, dict):
        raise BackendError(f"malformed reply: not a JSON object: {str(payload)[:200]}", kind="malformed")
    yield payload


def _server_message(body: Any) -> str:
    """The human part of an error body: OpenAI's {"error": {"message"}}, vLLM's {"message"}, Ollama's {"error"}."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return body.strip()[:300] or "(no message)"
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("detail") or error.get("type") or json.dumps(error)[:300])
            code = error.get("code")
            return f"{message} ({code})" if isinstance(code, str) and code not in message else message
    return str(body)[:300]


def _error_status(payload: dict[str, Any]) -> int | None:
    """The HTTP-like status some servers put in an error sent inside a stream."""
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and 400 <= code < 600 else None


def _is_unknown_model(status: int, message: str) -> bool:
    """vLLM and Ollama answer 404 naming the model; the DeepSeek API 400 "Model Not Exist"."""
    lowered = message.lower()
    if status == 404:
        return "model" in lowered
    pattern = r"model\W.*(not exist|not found|unknown)|unknown model|model_not_found"
    return status == 400 and re.search(pattern, lowered) is not None


async def _read_error_body(response: httpx.Response) -> str:
    try:
        return (await response.aread()).decode("utf-8", errors="replace")
    except httpx.HTTPError:
        return ""
    finally:
        await response.aclose()


def _connect_reason(error: BaseException) -> str:
    """The OS error (connection refused, unknown host...) under httpx's generic message."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, OSError) and cause.errno:
            return {
                errno.ECONNREFUSED: "connection refused",
                errno.EHOSTUNREACH: "host unreachable",
                errno.ENETUNREACH: "network unreachable",
            }.get(cause.errno, os.strerror(cause.errno).lower())
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


def retry_delay(attempt: int, base: float, retry_after: str | None = None) -> float:
    """Seconds before retry `attempt + 1`: the server's Retry-After when given, else base * 2**attempt + jitter."""
    if retry_after is not None and (seconds := _retry_after_seconds(retry_after)) is not None:
        return seconds
    backoff = base * 2**attempt
    return backoff + random.uniform(0, backoff)  # jitter, so clients refused together do not return together


def _retry_after_seconds(value: str) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
