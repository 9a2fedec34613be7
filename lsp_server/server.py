"""The language server: state shared by the handlers, and the entry point `wholerepo serve`.

Handlers live in one module per concern (documents, indexing, completion, navigation, diagnostics,
refactoring, commands); each registers itself on the server in `register(server)` and stays a few
lines that call agent/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from pathlib import Path

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.io_ import run_async
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path

from agent import Completer, QuietCollector, Workspace, configure_gc

from .debounce import TypingRhythm
from .positions import position_to_agent
from .protocol import WholerepoProtocol
from .settings import ServerSettings
from .transport import MAX_BODY, MAX_LINE, SafeStdin, SafeStreamReader

VERSION = "0.1.0"
STATUS = "wholerepo/status"
WORKSPACE_OPEN_WAIT_S = 30  # how long a request that arrives before `initialized` opened the workspace waits
log = logging.getLogger("wholerepo")


class WholerepoServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "wholerepo",
            VERSION,
            text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
            protocol_cls=WholerepoProtocol,
        )
        self.reader: SafeStdin | SafeStreamReader | None = None  # the client's byte stream, bounded
        self.settings = ServerSettings()
        self.init_options: object = None
        self.root: Path | None = None
        self.watcher = None
        self.ws: Workspace | None = None
        self.backend = None
        self.completer: Completer | None = None
        self.engine_status: dict[str, object] = {"state": "starting"}
        self.index_status: dict[str, object] = {"state": "waiting"}
        self.index_ready: asyncio.Event | None = None
        self.workspace_opened = asyncio.Event()  # set once `initialized` has opened (or found no) workspace
        self.inflight: dict[str, asyncio.Task] = {}  # the running completion per document
        self.rhythms: dict[str, TypingRhythm] = {}
        self.counters = {"completions": 0, "superseded": 0, "agent_ms_total": 0.0}
        self.background: set[asyncio.Task] = set()
        self.overlay_tasks: dict[str, asyncio.Task] = {}  # per document: the pending index update
        self.quiet_gc = QuietCollector()  # full garbage collections when the editor is quiet, not mid-typing

    # -- paths and text ---------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return self.workspace.position_encoding or t.PositionEncodingKind.Utf16

    def rel(self, uri: str) -> str:
        """The workspace-relative path of a document URI (ValueError outside the workspace)."""
        if self.ws is None:
            raise ValueError("no workspace folder is open")
        return self.ws.relative_uri(uri)

    def uri(self, rel: str) -> str:
        assert self.ws is not None
        return from_fs_path(str(self.ws.root / rel)) or (self.ws.root / rel).as_uri()

    def lines(self, rel: str) -> list[str]:
        """A file's lines as the editor sees them: the open buffer, else the indexed text."""
        uri = self.uri(rel)
        document = self.workspace.text_documents.get(uri)
        if document is not None:
            return document.source.split("\n")
        text = self.ws.index.source_text(rel) if self.ws else None
        return (text or "").split("\n")

    def at(self, document: t.TextDocumentIdentifier, position: t.Position):
        """(relative path, agent Position) of a wire position in a document."""
        rel = self.rel(document.uri)
        return rel, position_to_agent(self.lines(rel), position, self.encoding)

    def versions(self) -> dict[str, int]:
        """Open documents' versions by relative path: edits are computed against these."""
        found = {}
        for uri, document in self.workspace.text_documents.items():
            try:
                found[self.rel(uri)] = document.version
            except ValueError:
                continue
        return found

    async def ready_for(self, uri: str) -> bool:
        """Wait until the workspace is open and the document's latest text is indexed.

        Editors ask about open files at once, before `initialized` has opened the workspace and before
        the didOpen overlay has landed; False when there is still no workspace after the wait, and for
        documents outside it (untitled buffers, files from elsewhere): editors hover over those too, so
        they get an empty answer and a log line, never an error pop-up."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.workspace_opened.wait(), WORKSPACE_OPEN_WAIT_S)
        if self.ws is None:
            return False
        try:
            self.rel(uri)
        except ValueError as error:
            self.report(f"{uri[:200]} is not in the workspace: {error}", t.MessageType.Log)
            return False
        await self.settled(uri)
        return True

    async def settled(self, uri: str) -> None:
        """Wait until the buffer's latest text is in the index (its overlay update is debounced)."""
        while (task := self.overlay_tasks.get(uri)) is not None and not task.done():
            await asyncio.wait({task})

    def rhythm(self, uri: str) -> TypingRhythm:
        if uri not in self.rhythms:
            self.rhythms[uri] = TypingRhythm(self.settings.debounce.min_ms, self.settings.debounce.max_ms)
        return self.rhythms[uri]

    # -- messages ---------------------------------------------------------------------------------

    def report(self, message: str, kind: t.MessageType = t.MessageType.Info, *, detail: str | None = None) -> None:
        """A line in the client's log; errors and warnings also pop up once."""
        log.log(logging.ERROR if kind == t.MessageType.Error else logging.INFO, message)
        self.window_log_message(t.LogMessageParams(kind, f"wholerepo: {message}" + (f"\n{detail}" if detail else "")))
        if kind in (t.MessageType.Error, t.MessageType.Warning):
            self.window_show_message(t.ShowMessageParams(kind, f"wholerepo: {message}"))

    def send_status(self) -> None:
        self.protocol.notify(STATUS, {"engine": self.engine_status, "index": self.index_status})

    def report_server_error(self, error: Exception, source) -> None:
        """The read loop reports a body that is not JSON (source JsonRpcException): JSON-RPC's parse
        error, id null. Other failures keep pygls's handling."""
        if source is JsonRpcException:
            discarded = self.reader.discarded if self.reader is not None else None
            if discarded is not None:
                self.reader.discarded = None
                reason = f"a message of {discarded} bytes is over the {MAX_BODY}-byte limit; discarded"
            else:
                reason = f"{type(error).__name__}: {error}"[:300]
            self.protocol.send_error(None, t.ErrorCodes.ParseError, f"Parse error: {reason}")
            return
        super().report_server_error(error, source)

    def start_tcp(self, host: str, port: int) -> None:
        """pygls's TCP server, but the socket is read through SafeStreamReader: pygls's own loop
        reads it unbounded, and one header line over 64 KiB ended the session."""
        self._stop_event = stop_event = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)
            self.reader = SafeStreamReader(reader)
            await run_async(stop_event, self.reader, self.protocol, log, self.report_server_error)
            self.shutdown()

        async def listen() -> None:
            self._server = await asyncio.start_server(connection, host, port, limit=MAX_LINE)
            async with self._server:
                await self._server.serve_forever()

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(listen())

    def spawn(self, coroutine) -> asyncio.Task:
        """A background task kept alive until done; its failure becomes a message."""
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self.background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self.report(f"background work failed: {error}", t.MessageType.Error)


def create_server() -> WholerepoServer:
    from . import commands, completion, diagnostics, documents, lifecycle, navigation, refactoring

    server = WholerepoServer()
    for module in (lifecycle, documents, completion, navigation, diagnostics, refactoring, commands):
        module.register(server)
    return server


def serve(tcp: str | None = None, log_file: Path | None = None) -> int:
    """Run until the client says exit: over stdio, or TCP on HOST:PORT (loopback unless a host is named)."""
    # stderr stays quiet: a client that never reads it would block the server once its pipe fills
    handler = logging.FileHandler(log_file) if log_file else logging.NullHandler()
    logging.basicConfig(handlers=[handler], level=logging.INFO, force=True)
    configure_gc()  # collections sized for a long-lived process with large caches (agent/quiet_gc.py)
    server = create_server()
    if tcp is None:
        server.reader = SafeStdin(sys.stdin.buffer)
        server.start_io(server.reader)
        return 0
    host, _, port = tcp.rpartition(":")
    server.start_tcp(host or "127.0.0.1", int(port))
    return 0
