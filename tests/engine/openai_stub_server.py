"""A real, scriptable OpenAI-compatible HTTP server for the backend's tests.

Real sockets and real HTTP/1.1 (chunked server-sent events), so httpx is exercised exactly as against
vLLM: each test queues `Reply`s per path — streamed chunks, pauses, error statuses, dropped connections —
and afterwards reads what the client sent (`requests`) and whether it hung up mid-stream (`disconnects`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

DEFAULT_MODEL = "qwen2.5-coder-7b"


@dataclass(frozen=True)
class Pause:
    """Send nothing for a while (a slow token, or a stall); the server notices if the client hangs up."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the connection abruptly, mid-body."""


@dataclass
class Reply:
    status: int = 200
    events: tuple[Any, ...] = ()  # SSE: dict -> `data: {json}`, str -> `data: str`, Pause, Drop
    body: Any = None  # a plain (non-SSE) body: dict -> JSON, str -> text
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = True  # end the stream with `data: [DONE]`

    @classmethod
    def sse(cls, *events: Any, done: bool = True) -> Reply:
        return cls(events=events, done=done)

    @classmethod
    def error(cls, status: int, body: Any, **headers: str) -> Reply:
        return cls(status=status, body=body, headers={key.replace("_", "-"): value for key, value in headers.items()})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None


def completion_chunk(text: str = "", finish: str | None = None) -> dict[str, Any]:
    return {"object": "text_completion", "choices": [{"index": 0, "text": text, "finish_reason": finish}]}


def chat_chunk(content: str | None = None, tool_calls: list | None = None, finish: str | None = None) -> dict:
    delta: dict[str, Any] = {"role": "assistant"}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def usage_chunk(prompt: int, completion: int, cached: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"choices": [], "usage": usage}


class StubServer:
    """`async with StubServer() as server:` then `server.script("/v1/completions", Reply.sse(...))`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[str] = []  # paths whose stream the client closed before its end
        self.disconnected = asyncio.Event()
        self.connections = 0  # TCP connections accepted: shows whether the client reuses them
        self.models: list[dict[str, Any]] = [{"id": DEFAULT_MODEL, "object": "model"}]
        self._replies: dict[str, deque[Reply]] = defaultdict(deque)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def script(self, path: str, *replies: Reply) -> None:
        self._replies[path].extend(replies)

    def bodies(self, path: str) -> list[Any]:
        return [request.body for request in self.requests if request.path == path]

    async def __aenter__(self) -> StubServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _reply_for(self, request: RecordedRequest) -> Reply:
        if self._replies[request.path]:
            return self._replies[request.path].popleft()
        if request.method == "GET" and request.path == "/v1/models":
            return Reply(body={"object": "list", "data": self.models})
        return Reply.error(500, {"error": {"message": f"no reply scripted for {request.method} {request.path}"}})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                self.requests.append(request)
                reply = self._reply_for(request)
                if reply.body is not None or reply.status != 200:
                    await _send_body(writer, reply)
                elif not await self._send_stream(reader, writer, reply, request.path):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _send_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply, path: str
    ) -> bool:
        """Stream the events; False when the connection is over (the client left, or a Drop)."""
        head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        writer.write(head.encode() + _header_lines(reply.headers) + b"\r\n")
        # The client sends nothing while it reads a response, so a finished read means it hung up.
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            for event in reply.events:
                if isinstance(event, Drop):
                    return False
                if isinstance(event, Pause):
                    await asyncio.wait({hangup}, timeout=event.seconds)
                else:
                    writer.write(_chunk(_sse(event)))
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                if hangup.done():
                    self.disconnects.append(path)
                    self.disconnected.set()
                    return False
        finally:
            hangup.cancel()
            await asyncio.wait({hangup})  # the reader is free again only once the read has really stopped
            if not hangup.cancelled():
                hangup.exception()  # a reset connection: retrieved, so asyncio does not warn about it
        writer.write((_chunk(_sse("[DONE]")) if reply.done else b"") + b"0\r\n\r\n")
        await writer.drain()
        return True


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raw = await reader.readexactly(int(headers.get("content-length", "0")))
    return RecordedRequest(method, path, headers, json.loads(raw) if raw else None)


async def _send_body(writer: asyncio.StreamWriter, reply: Reply) -> None:
    is_json = not isinstance(reply.body, str)
    data = (json.dumps(reply.body) if is_json else reply.body).encode()
    content_type = "application/json" if is_json else "text/plain"
    head = f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}\r\nContent-Type: {content_type}\r\n"
    head += f"Content-Length: {len(data)}\r\n"
    writer.write(head.encode() + _header_lines(reply.headers) + b"\r\n" + data)
    await writer.drain()


def _header_lines(headers: dict[str, str]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()


def _sse(event: Any) -> bytes:
    data = event if isinstance(event, str) else json.dumps(event)
    return f"data: {data}\n\n".encode()


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"
