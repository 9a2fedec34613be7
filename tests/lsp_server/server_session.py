"""A real client session with `wholerepo serve --stdio` (pytest-lsp's client, a subprocess server) on a
small fixture repository, for the test_server_* modules."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

from lsprotocol import types as t
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from lsp_server.demo_session import plain

from ..agent.test_complete import HELPERS as SHAPES

MAIN = """from shapes import Circle, make_circle


def total_area(circles):
    return sum(c.area() for c in circles)


def unit():
    return make_circle(1.0)
"""

REPORT = """from shapes import make_circle
from geo import Squircle
import missing_module


def report():
    label = "é😀"; circle = make_circle(2.0)
    return label, circle.area()
"""

FILES = {
    "shapes.py": SHAPES,
    "main.py": MAIN,
    "report.py": REPORT,
    "geo/__init__.py": "from .extra import tau\n",
    "geo/extra.py": "tau = 6.28\n",
}


def write_repo(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
    return root


class Session:
    """The client, what the server sent it, and helpers to speak about files by relative path."""

    def __init__(self, client, root: Path) -> None:
        self.client = client
        self.root = root
        self.statuses: list[dict] = []
        self.status_changed = asyncio.Event()
        self.applied: list[t.ApplyWorkspaceEditParams] = []
        self.versions: dict[str, int] = {}
        self.initialized: t.InitializeResult | None = None

    @property
    def encoding(self) -> str:
        return self.initialized.capabilities.position_encoding

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def doc(self, rel: str) -> t.TextDocumentIdentifier:
        return t.TextDocumentIdentifier(self.uri(rel))

    async def wait_status(self, part: str, state: str, timeout: float = 120) -> dict:
        async def reached() -> dict:
            while True:
                for status in reversed(self.statuses):
                    if isinstance(status.get(part), dict) and status[part].get("state") == state:
                        return status
                self.status_changed.clear()
                await self.status_changed.wait()

        return await asyncio.wait_for(reached(), timeout)

    def open(self, rel: str, text: str | None = None) -> str:
        text = (self.root / rel).read_text(encoding="utf-8") if text is None else text
        self.versions[rel] = 1
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(t.TextDocumentItem(self.uri(rel), "python", 1, text))
        )
        return text

    def change(self, rel: str, text: str, span: t.Range | None = None) -> None:
        """An incremental change (``span`` replaced by ``text``), or the whole text when no span."""
        self.versions[rel] += 1
        change = (
            t.TextDocumentContentChangePartial(range=span, text=text)
            if span is not None
            else t.TextDocumentContentChangeWholeDocument(text=text)
        )
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                t.VersionedTextDocumentIdentifier(version=self.versions[rel], uri=self.uri(rel)), [change]
            )
        )

    def close(self, rel: str) -> None:
        self.client.text_document_did_close(t.DidCloseTextDocumentParams(self.doc(rel)))


def capabilities(profile: str = "neovim@v0.11.0", *, pull_diagnostics: bool = True) -> t.ClientCapabilities:
    caps = client_capabilities(profile)
    caps.text_document.inline_completion = t.InlineCompletionClientCapabilities()  # the profiles lack it
    if not pull_diagnostics:
        caps.text_document.diagnostic = None
    return caps


async def start(
    root: Path, options: dict, caps: t.ClientCapabilities | None = None, command: tuple[str, ...] | None = None
) -> Session:
    """A session with `wholerepo serve --stdio`, or with ``command`` (a server started another way)."""
    client = make_test_lsp_client()
    session = Session(client, root)

    @client.feature(t.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
        session.applied.append(params)
        return t.ApplyWorkspaceEditResult(applied=True)

    @client.feature("wholerepo/status")
    def status(params) -> None:
        session.statuses.append(plain(params))
        session.status_changed.set()

    await client.start_io(*(command or (sys.executable, "-m", "lsp_server.cli", "serve", "--stdio")))
    session.initialized = await client.initialize_session(
        t.InitializeParams(
            capabilities=caps or capabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[t.WorkspaceFolder(root.as_uri(), root.name)],
            initialization_options=options,
        )
    )
    return session


async def stop(session: Session) -> None:
    await session.client.shutdown_session()
    await session.client.stop()


@contextlib.asynccontextmanager
async def serving(root: Path, index_dir: Path, options: dict) -> AsyncIterator[Session]:
    """``root`` served with ``options`` (the index in ``index_dir``) to a Neovim client, once the index
    is built and the model answers; shut down on leaving."""
    session = await start(root, {**options, "index_dir": str(index_dir)}, capabilities("neovim@v0.11.0"))
    try:
        await session.wait_status("index", "ready")
        await session.wait_status("engine", "ready")
        yield session
    finally:
        await stop(session)
