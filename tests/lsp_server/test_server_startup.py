"""Editors ask for diagnostics of open files at once: a pull that arrives while `initialized` is still
waiting on the client's configuration must wait for the workspace, not fail with 'no workspace'."""

from __future__ import annotations

import asyncio
import sys

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

from .server_session import capabilities, write_repo


@pytest.mark.asyncio
async def test_a_pull_before_the_workspace_is_open_waits_for_it(tmp_path):
    root = write_repo(tmp_path / "repo")
    client = LanguageClient("startup-test", "1")
    shown: list[str] = []

    @client.feature(t.WINDOW_SHOW_MESSAGE)
    def show_message(params: t.ShowMessageParams) -> None:
        shown.append(params.message)

    @client.feature(t.WINDOW_LOG_MESSAGE)
    def log_message(params: t.LogMessageParams) -> None:
        shown.append(params.message)

    @client.feature(t.WORKSPACE_CONFIGURATION)
    async def slow_configuration(params: t.ConfigurationParams) -> list:
        await asyncio.sleep(2)  # the server opens the workspace only after this answer
        return [None for _ in params.items]

    options = {
        "backend": {"kind": "local", "checkpoint": str(tmp_path / "no-model")},
        "index_dir": str(tmp_path / "ix"),
    }
    await client.start_io(sys.executable, "-m", "lsp_server.cli", "serve", "--stdio")
    try:
        await client.initialize_async(
            t.InitializeParams(
                capabilities=capabilities(),
                root_uri=root.as_uri(),
                workspace_folders=[t.WorkspaceFolder(root.as_uri(), root.name)],
                initialization_options=options,
            )
        )
        client.initialized(t.InitializedParams())
        report = await client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(t.TextDocumentIdentifier((root / "report.py").as_uri()))
        )
        assert any(d.code == "unknown-import-name" for d in report.items)
        assert not any("no workspace" in message for message in shown), shown
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
