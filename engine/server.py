"""The local engine as an OpenAI-compatible HTTP server: /v1/models, /v1/completions, /v1/chat/completions.

Any OpenAI client (the project's `openai` backend, an editor plugin, curl) can then use the embedded model.
/v1/completions with a `suffix` is fill-in-the-middle in the model's template; without one the prompt runs as
it is (a client that wrote the FIM markers itself). Replies stream as server-sent events in OpenAI's chunk
format, ending with `data: [DONE]`.

A request holds the model until it ends (LocalBackend runs one at a time); a client that hangs up cancels its
generation at the next token, before the reply starts as well as during it. Errors (bad request, unknown model,
context too long) are sent before any of the reply, as an HTTP status with OpenAI's error object. GET /metrics
shows request and token counters in Prometheus' text format, as vLLM's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .backends.base import BackendError, ContextTooLong, Delta, FimRequest, Usage
from .backends.local import LocalBackend, LocalSettings
from .server_wire import (
    ResponseBuilder,
    WireError,
    context_too_long,
    model_json,
    parse_chat,
    parse_completion,
    unknown_model,
)

T = TypeVar("T")
READY_TIMEOUT = 60.0  # seconds for uvicorn to start listening on a socket that is already bound


class EngineServeError(RuntimeError):
    """The server cannot start: the model does not load, or the address is taken. The message says which."""


class ClientGone(Exception):
    """The client hung up before its reply started."""


@dataclass
class ServerStats:
    """Counters behind GET /metrics."""

    requests_total: int = 0
    requests_running: int = 0
    requests_cancelled: int = 0
    prompt_tokens_total: int = 0
    generation_tokens_total: int = 0
    prefix_cache_hit_tokens_total: int = 0

    def finished(self, usage: Usage | None) -> None:
        if usage is not None:
            self.prompt_tokens_total += usage.prompt_tokens
            self.generation_tokens_total += usage.completion_tokens
            self.prefix_cache_hit_tokens_total += usage.cached_tokens


class EngineServer:
    """The routes for one LocalBackend, served under one model name."""

    def __init__(self, backend: LocalBackend, model_name: str | None = None) -> None:
        self.backend = backend
        self.name = model_name or backend.info.model
        self.created = int(time.time())
        self.stats = ServerStats()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/completions", self.completions, methods=["POST"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ],
            exception_handlers={WireError: _wire_error, 404: _not_found, 405: _not_allowed, Exception: _internal},
        )

    # --- routes ---------------------------------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        entry = model_json(self.name, self.backend.info.context_window, self.created)
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(self, request: Request) -> Response:
        return Response(status_code=200)

    async def completions(self, request: Request) -> Response:
        call = parse_completion(await _json_body(request))
        self._check_model(call.model)
        s = call.sampling
        if call.suffix is not None:
            fim = FimRequest(call.prompt, call.suffix, s.max_tokens, s.stop, s.temperature, s.top_p)
            stream = self.backend.fim(fim)
        else:
            options = dict(max_tokens=s.max_tokens, stop=s.stop, temperature=s.temperature, top_p=s.top_p)
            stream = self.backend.complete(call.prompt, **options)
        builder = ResponseBuilder("completion", self.name)
        return await self._reply(request, stream, builder, call.stream, call.include_usage)

    async def chat_completions(self, request: Request) -> Response:
        call = parse_chat(await _json_body(request))
        self._check_model(call.model)
        builder = ResponseBuilder("chat", self.name)
        return await self._reply(request, self.backend.chat(call.request), builder, call.stream, call.include_usage)

    async def metrics(self, request: Request) -> Response:
        values = {**vars(self.stats), "kv_cache_tokens": len(self.backend.cache.tokens)}
        lines = []
        for name, value in values.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# TYPE wholerepo:{name} {kind}", f'wholerepo:{name}{{model_name="{self.name}"}} {value}']
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    # --- replying -------------------------------------------------------------------------------------------------

    def _check_model(self, requested: str | None) -> None:
        if requested is not None and requested != self.name:
            raise unknown_model(requested, self.name)

    async def _reply(
        self, request: Request, stream: AsyncIterator[Delta], builder: ResponseBuilder, streaming: bool, usage: bool
    ) -> Response:
        """Run the generation; errors found before the first token become an HTTP error status."""
        self.stats.requests_total += 1
        self.stats.requests_running += 1
        handed_over = False
        try:
            if streaming:
                first = await _until_disconnected(request, anext(stream))
                handed_over = True  # the stream's own finally counts it out
                events = self._events(stream, first, builder, usage)
                return _ClosingStreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
            text, last = await _until_disconnected(request, _collect(stream))
            self.stats.finished(last.usage)
            return JSONResponse(builder.whole(text, last.finish_reason or "stop", last.usage or Usage()))
        except ClientGone:
            self.stats.requests_cancelled += 1
            return Response(status_code=499)  # nobody reads it; the status nginx uses for "client closed"
        except ContextTooLong as error:
            raise context_too_long(str(error), self.backend.info.context_window) from error
        except BackendError as error:
            raise _backend_error(error) from error
        finally:
            if not handed_over:
                self.stats.requests_running -= 1
                with anyio.CancelScope(shield=True):
                    await stream.aclose()

    async def _events(
        self, stream: AsyncIterator[Delta], first: Delta, builder: ResponseBuilder, include_usage: bool
    ) -> AsyncIterator[bytes]:
        """The SSE body; closing it (the client hung up) closes the generation, which stops at the next token."""
        delta, opening, finished = first, True, False
        try:
            while True:
                yield _sse(builder.chunk(delta, first=opening))
                opening = False
                if delta.finish_reason is not None:
                    finished = True
                    self.stats.finished(delta.usage)
                    if include_usage:
                        yield _sse(builder.usage_chunk(delta.usage or Usage()))
                    break
                delta = await anext(stream)
        except BackendError as error:  # after the headers: the error goes in the stream, as OpenAI sends it
            yield _sse(_backend_error(error).body())
        finally:
            self.stats.requests_running -= 1
            if not finished:
                self.stats.requests_cancelled += 1
            with anyio.CancelScope(shield=True):
                await stream.aclose()
        yield b"data: [DONE]\n\n"


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class _ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that closes its body generator however the response ends.

    Starlette stops iterating when the client hangs up but leaves the generator to the garbage collector; the
    generation it holds (and the model's lock) must end now, not then.
    """

    async def stream_response(self, send: Any) -> None:
        try:
            await super().stream_response(send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()


async def _until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """`work`'s result, unless the client hangs up first: then `work` is cancelled and ClientGone raised."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_hang_up(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        task.cancel()  # a no-op once it is done
        await asyncio.gather(task, watcher, return_exceptions=True)
    if task.cancelled():
        raise ClientGone
    return task.result()


async def _hang_up(request: Request) -> None:
    """Returns when the client disconnects (the request body is already read, so nothing else can arrive)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _collect(stream: AsyncIterator[Delta]) -> tuple[str, Delta]:
    texts, last = [], Delta()
    async for delta in stream:
        texts.append(delta.text)
        last = delta
    return "".join(texts), last


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as error:
        raise WireError(400, f"the request body is not valid JSON: {error}") from error


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def _backend_error(error: BackendError) -> WireError:
    if error.kind == "bad_request":
        return WireError(400, str(error))
    return WireError(500, f"the local engine failed: {error}", type="server_error", code=error.kind)


async def _wire_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, WireError)
    return JSONResponse(error.body(), status_code=error.status)


async def _not_found(request: Request, error: Exception) -> Response:
    paths = "GET /v1/models, POST /v1/completions, POST /v1/chat/completions"
    return await _wire_error(request, WireError(404, f"no route {request.url.path}; this server has {paths}"))


async def _internal(request: Request, error: Exception) -> Response:
    """A bug, not bad input: still OpenAI's error object, so clients show a message rather than choke on HTML."""
    message = f"the local engine failed: {type(error).__name__}: {error}"
    return await _wire_error(request, WireError(500, message, type="server_error"))


async def _not_allowed(request: Request, error: Exception) -> Response:
    return await _wire_error(request, WireError(405, f"{request.method} is not allowed on {request.url.path}"))


# --- running it ----------------------------------------------------------------------------------------------------


def create_app(backend: LocalBackend, model_name: str | None = None) -> Starlette:
    return EngineServer(backend, model_name).app()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is a clear error (uvicorn would exit the process)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise EngineServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    """Where a client on this machine reaches the socket, with /v1 (a wildcard address means loopback)."""
    host, port = sock.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def _uvicorn(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve_local(
    settings: LocalSettings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    model_name: str | None = None,
    on_ready: Callable[[str, str, tuple[str, ...]], None] | None = None,
) -> None:
    """Load the model and serve it until Ctrl-C or SIGTERM. `on_ready(url, model, notes)` runs once it listens."""
    try:
        backend = LocalBackend.from_settings(settings)
    except BackendError as error:
        raise EngineServeError(str(error)) from error
    sock = bind(host, port)
    engine = EngineServer(backend, model_name)
    server = _uvicorn(engine.app())

    async def run() -> None:
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started and on_ready is not None:
            on_ready(url_of(sock), engine.name, backend.info.notes)
        await serving
        await backend.aclose()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn has shut down gracefully and re-raised it; stopping is what was asked
    finally:
        sock.close()


@dataclass
class RunningServer:
    """A server on a background thread (tests, benchmarks): `url` ends in /v1; `stop()` shuts it down."""

    url: str
    engine: EngineServer
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    backend: LocalBackend, host: str = "127.0.0.1", port: int = 0, *, model_name: str | None = None
) -> RunningServer:
    """Serve `backend` from a thread with its own event loop; returns once the server answers."""
    sock = bind(host, port)
    engine = EngineServer(backend, model_name)
    server = _uvicorn(engine.app())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as error:  # SystemExit included: uvicorn exits on startup errors
            failure.append(error)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="wholerepo-engine-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            with contextlib.suppress(RuntimeError):
                thread.join(timeout=5)
            raise EngineServeError(f"the engine server did not start: {failure[0] if failure else 'timed out'}")
        time.sleep(0.02)
    return RunningServer(url_of(sock), engine, server, thread)
