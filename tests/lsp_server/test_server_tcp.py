"""`wholerepo serve --tcp PORT` listens on loopback (no host named) and speaks the same protocol; a
settings change pushed with workspace/didChangeConfiguration takes effect without a restart."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

from lsp_server.transport import MAX_BODY, MAX_LINE

from .server_session import write_repo


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def connect(port: int, server: asyncio.subprocess.Process) -> LanguageClient:
    client = LanguageClient("tcp-test", "0")
    for _ in range(200):
        try:
            await client.start_tcp("127.0.0.1", port)
            return client
        except OSError:
            if server.returncode is not None:
                raise
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.mark.asyncio
async def test_tcp_on_loopback_and_configuration_changes(tmp_path):
    root = write_repo(tmp_path / "repo")
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server.cli", "serve", "--tcp", str(port), "--log-file", str(tmp_path / "log")
    )
    statuses: list = []
    try:
        client = await connect(port, server)
        client.feature("wholerepo/status")(lambda params: statuses.append(params))
        for method in (t.WINDOW_LOG_MESSAGE, t.WINDOW_SHOW_MESSAGE):
            client.feature(method)(lambda params: None)
        result = await client.initialize_async(
            t.InitializeParams(
                capabilities=t.ClientCapabilities(),
                root_uri=root.as_uri(),
                initialization_options={"index_dir": str(tmp_path / "ix"), "features": {"hover": False}},
            )
        )
        client.initialized(t.InitializedParams())
        assert result.capabilities.hover_provider is not None
        assert _listeners(port) == ["127.0.0.1"]
        main = t.TextDocumentIdentifier((root / "main.py").as_uri())
        hover_params = t.HoverParams(main, t.Position(8, 12))
        for _ in range(100):  # until the index is ready; hover is switched off, so it stays empty
            status = await client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.status"))
            if status["index"]["state"] == "ready":
                break
            await asyncio.sleep(0.1)
        assert await client.text_document_hover_async(hover_params) is None
        client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings={"wholerepo": {"features": {"hover": True}}})
        )
        await asyncio.sleep(0.3)
        hover = await client.text_document_hover_async(hover_params)
        assert "def make_circle" in hover.contents.value
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
        assert await asyncio.wait_for(server.wait(), 30) == 0
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


def _listeners(port: int) -> list[str]:
    """Addresses with a socket listening on ``port`` (from /proc/net/tcp: state 0A = LISTEN)."""
    found = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.asyncio
async def test_bad_bytes_on_the_socket_get_answers_and_the_session_goes_on(tmp_path):
    """An over-long header line, garbage glued to a header and a body over the size limit: each is
    answered or skipped, and the same connection then initializes and shuts down normally."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server.cli", "serve", "--tcp", str(port), "--log-file", str(tmp_path / "log")
    )
    try:
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        frames = Frames(reader)
        writer.write(b"X" * (3 * MAX_LINE) + b"\r\n")  # a header line no reader should hold whole
        writer.write(b"garbage " + frame(b'{"jsonrpc": "2.0", "id": 1, "method": "shutdown"'))  # cut short: not JSON
        assert (await frames.next())["error"]["code"] == t.ErrorCodes.ParseError
        oversized = MAX_BODY + 1
        writer.write(b"Content-Length: %d\r\n\r\n" % oversized)
        for _ in range(oversized // (1 << 20)):
            writer.write(b" " * (1 << 20))
            await writer.drain()
        writer.write(b" " * (oversized % (1 << 20)))
        answer = await frames.next()
        assert answer["error"]["code"] == t.ErrorCodes.ParseError and str(oversized) in answer["error"]["message"]
        initialize = {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"capabilities": {}}}
        writer.write(frame(json.dumps(initialize).encode()))
        assert (await frames.next())["result"]["capabilities"]
        writer.write(frame(b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}'))
        assert (await frames.next()) == {"jsonrpc": "2.0", "id": 3, "result": None}
        writer.write(frame(b'{"jsonrpc": "2.0", "method": "exit"}'))
        await writer.drain()
        assert await asyncio.wait_for(server.wait(), 30) == 0
        writer.close()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Frames:
    """The server's messages, one at a time, skipping its notifications (log lines, status)."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def next(self) -> dict:
        while True:
            length = 0
            while (line := await asyncio.wait_for(self.reader.readline(), 60)) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(await self.reader.readexactly(length))
            if "id" in message:
                return message
