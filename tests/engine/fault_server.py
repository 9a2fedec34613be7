"""A model server that misbehaves on command: real HTTP/1.1 on 127.0.0.1, for the engine-fault tests.

`await server.set(fault)` decides how every following request goes, until the next `set`:

- healthy: the completion `text`, streamed after `latency_s` (at once by default);
- down: nothing listens on the port (connection refused); open connections are cut too;
- slow: nothing at all, not even the status line, for `delay_s`;
- stall: the status line and a few chunks without text, then silence for `delay_s`;
- stall_after_text: a chunk of text (`partial`), then silence for `delay_s`;
- not_json, wrong_shape: a 200 JSON reply whose body is not JSON / has no `choices`;
- bad_sse: an event stream whose data is not JSON; html: a 200 web page where events should be;
- http_500, http_429, http_503: error statuses with an OpenAI-style error body;
- drop: the status line and one chunk, then the connection closes mid-body.

It counts what clients did: `requests` (fault, path), `answered`, `hangups` (a client that gave up
while the server held back), and `open_connections` now, so a test can see that nothing is left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from .openai_stub_server import DEFAULT_MODEL, _chunk, _read_request, _sse, completion_chunk

FAULTS = (
    "healthy",
    "down",
    "slow",
    "stall",
    "stall_after_text",
    "not_json",
    "wrong_shape",
    "bad_sse",
    "html",
    "http_500",
    "http_429",
    "http_503",
    "drop",
)
STATUS_LINES = {
    200: "200 OK",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class FaultServer:
    def __init__(self, text: str = "value", partial: str = "par", delay_s: float = 30.0, latency_s: float = 0.0):
        self.fault = "healthy"
        self.text, self.partial, self.delay_s, self.latency_s = text, partial, delay_s, latency_s
        self.requests: list[tuple[str, str]] = []  # (fault, path) per request received
        self.answered = 0
        self.hangups = 0
        self.open_connections = 0
        self.answering = 0  # requests being answered (or held back) right now
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> FaultServer:
        await self._listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._go_down()

    async def set(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        if fault == "down":
            await self._go_down()
        elif self._server is None:
            await self._listen()
        self.fault = fault

    def count(self, fault: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == fault)

    # -- listening --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)  # the same port again
        self.port = self._server.sockets[0].getsockname()[1]

    async def _go_down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.open_connections += 1
        try:
            while (request := await _read_request(reader)) is not None:
                fault = self.fault
                self.requests.append((fault, request.path))
                self.answering += 1
                try:
                    if not await self._answer(fault, request.path, reader, writer):
                        break
                finally:
                    self.answering -= 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # going down: the connection ends here (a cancelled handler would be logged as an error)
        finally:
            self.open_connections -= 1
            self._connections.discard(task)
            writer.close()

    # -- the faults ---------------------------------------------------------------------------------

    async def _answer(self, fault: str, path: str, reader, writer) -> bool:
        """Answer one request as the fault says; False when the connection is over."""
        wait = self.delay_s if fault == "slow" else self.latency_s if fault == "healthy" and path != "/v1/models" else 0
        if wait and not await self._hold(reader, wait):
            return False
        if fault in ("healthy", "slow"):
            if path == "/v1/models":
                await _send(writer, 200, "application/json", json.dumps({"data": [{"id": DEFAULT_MODEL}]}))
            else:
                await _stream_head(writer)
                await _stream(writer, completion_chunk(self.text), completion_chunk("", "stop"), "[DONE]")
                writer.write(b"0\r\n\r\n")
            self.answered += 1
            return True
        if fault in ("stall", "stall_after_text"):
            await _stream_head(writer)
            chunks = [completion_chunk(self.partial)] if fault == "stall_after_text" else [completion_chunk("")] * 3
            await _stream(writer, *chunks)
            await self._hold(reader, self.delay_s)
            return False
        if fault == "drop":
            await _stream_head(writer)
            await _stream(writer, completion_chunk(self.partial))
            return False  # closed mid-body: no last chunk
        if fault == "bad_sse":
            await _stream_head(writer)
            await _stream(writer, "{this is not json")
            writer.write(b"0\r\n\r\n")
            return True
        bodies = {
            "not_json": (200, "application/json", "this is not JSON {"),
            "wrong_shape": (200, "application/json", json.dumps({"result": "no choices in here"})),
            "html": (200, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "http_500": (500, "application/json", _error("engine crashed")),
            "http_429": (429, "application/json", _error("too many requests")),
            "http_503": (503, "application/json", _error("overloaded")),
        }
        await _send(writer, *bodies[fault])
        return True

    async def _hold(self, reader: asyncio.StreamReader, seconds: float) -> bool:
        """Send nothing for a while; False (and counted) when the client hangs up meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(1), seconds)
            self.hangups += 1  # the client sends nothing while it waits for an answer: a finished read is a hang-up
            return False
        return True


def _error(message: str) -> str:
    return json.dumps({"error": {"message": message, "type": "server_error"}})


async def _send(writer: asyncio.StreamWriter, status: int, content_type: str, body: str) -> None:
    data = body.encode()
    head = f"HTTP/1.1 {STATUS_LINES[status]}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n"
    writer.write(head.encode() + data)
    await writer.drain()


async def _stream_head(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    await writer.drain()


async def _stream(writer: asyncio.StreamWriter, *events: object) -> None:
    for event in events:
        writer.write(_chunk(_sse(event)))
    await writer.drain()
