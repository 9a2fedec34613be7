"""`wholerepo serve --tcp PORT` listens on loopback (no host named) and speaks the same protocol; a
settings change pushed with workspace/didChangeConfiguration takes effect without a restart."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

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
