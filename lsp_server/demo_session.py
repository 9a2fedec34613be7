"""The scripted part of `make demo`: a real LSP client (pygls's, over stdio) against `wholerepo serve` on a
copy of a standard-library package, with the embedded engine. Prints a completion, a hover explanation,
the summary of a whole-repo rename's WorkspaceEdit, and the diagnostics.

A random-init model is never presented as a completion model: without the trained checkpoint in
engine/weights/default the server says the engine is unavailable, and the completion is skipped with
that reason.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

PACKAGE = "json"
COMPLETE_AT = ("json/__init__.py", "return _default_decoder.")  # a line cut after this text, unsaved
HOVER_AT = ("json/__init__.py", "from .decoder import JSONDecoder, JSONDecodeError", "JSONDecodeError")
RENAME = ("JSONDecodeError", "JSONParseError")
TYPO = ("json/tool.py", "from .decoder import JSONDecodr\n")
TIMEOUT_S = 300


class DemoClient:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = LanguageClient("wholerepo-demo", "0.1.0")
        self.status: dict = {}
        self.changed = asyncio.Event()

        @self.client.feature("wholerepo/status")
        def status(params) -> None:
            self.status.update(plain(params))
            self.changed.set()

        @self.client.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress(params) -> None:
            return None

        for method in (t.PROGRESS, t.WINDOW_LOG_MESSAGE, t.WINDOW_SHOW_MESSAGE):
            self.client.feature(method)(lambda params: None)  # shown through wholerepo/status instead

        @self.client.feature(t.WORKSPACE_APPLY_EDIT)
        def apply(params) -> t.ApplyWorkspaceEditResult:
            return t.ApplyWorkspaceEditResult(applied=False, failure_reason="the demo only shows edits")

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    async def start(self, options: dict) -> None:
        await self.client.start_io(sys.executable, "-m", "lsp_server.cli", "serve", "--stdio")
        capabilities = t.ClientCapabilities(
            window=t.WindowClientCapabilities(work_done_progress=True),
            text_document=t.TextDocumentClientCapabilities(
                inline_completion=t.InlineCompletionClientCapabilities(),
                diagnostic=t.DiagnosticClientCapabilities(),
                rename=t.RenameClientCapabilities(prepare_support=True),
            ),
            workspace=t.WorkspaceClientCapabilities(
                apply_edit=True, workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True)
            ),
        )
        await self.client.initialize_async(
            t.InitializeParams(
                capabilities=capabilities,
                root_uri=self.root.as_uri(),
                workspace_folders=[t.WorkspaceFolder(self.root.as_uri(), self.root.name)],
                initialization_options=options,
            )
        )
        self.client.initialized(t.InitializedParams())

    async def wait(self, part: str, states: tuple[str, ...]) -> dict:
        async def reached() -> dict:
            while self.status.get(part, {}).get("state") not in states:
                self.changed.clear()
                await self.changed.wait()
            return self.status[part]

        return await asyncio.wait_for(reached(), TIMEOUT_S)

    def open(self, rel: str, text: str) -> None:
        item = t.TextDocumentItem(self.uri(rel), "python", 1, text)
        self.client.text_document_did_open(t.DidOpenTextDocumentParams(item))

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


async def session(root: Path, index_dir: Path) -> None:
    demo = DemoClient(root)
    started = time.perf_counter()
    # the embedded model on a CPU: give it time, and stop at one line
    completion = {"deadline_s": 60.0, "max_tokens": 48}
    await demo.start({"backend": {"kind": "local"}, "completion": completion, "index_dir": str(index_dir)})
    index = await demo.wait("index", ("ready", "failed"))
    print(f"server indexed {index.get('files')} files of {root / PACKAGE} ({time.perf_counter() - started:.1f}s)")
    engine = await demo.wait("engine", ("ready", "unavailable"))
    try:
        await _completion(demo, engine)
        await _hover(demo)
        await _rename(demo)
        await _diagnostics(demo)
    finally:
        await demo.stop()


async def _completion(demo: DemoClient, engine: dict) -> None:
    print("\n== completion (textDocument/inlineCompletion)")
    if engine.get("state") != "ready":
        print(f"skipped: {engine.get('message', 'no model')}")
        print("(a random-init model would only print noise, so the demo does not pretend with one)")
        return
    rel, cut = COMPLETE_AT
    lines = (demo.root / rel).read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if cut in line)
    column = lines[number].index(cut) + len(cut)
    original = lines[number][column:]
    lines[number] = lines[number][:column]
    demo.open(rel, "\n".join(lines))
    started = time.perf_counter()
    result = await demo.client.text_document_inline_completion_async(
        t.InlineCompletionParams(
            context=t.InlineCompletionContext(trigger_kind=t.InlineCompletionTriggerKind.Invoked),
            text_document=t.TextDocumentIdentifier(demo.uri(rel)),
            position=t.Position(number, column),
        )
    )
    took = (time.perf_counter() - started) * 1000
    print(
        f"model: {engine.get('model')} ({engine.get('backend')}); {rel}:{number + 1}, after {lines[number].strip()!r}"
    )
    for item in result.items:
        print(f"suggestion ({took:.0f} ms): {item.insert_text!r} (the file has {original!r} there)")
    if not result.items:
        print(f"no suggestion ({took:.0f} ms)")
    pack = await demo.client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.showContext"))
    if pack:
        print(
            f"context: {pack['tokens']} tokens in {len(pack['items'])} items, e.g. "
            + ", ".join(f"{i['path']}:{i['start_line']}-{i['end_line']}" for i in pack["items"][:3])
        )


async def _hover(demo: DemoClient) -> None:
    rel, line_text, word = HOVER_AT
    lines = (demo.root / rel).read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line_text in line)
    position = t.Position(number, lines[number].index(word))
    print(f"\n== hover on {word!r} at {rel}:{number + 1}")
    hover = await demo.client.text_document_hover_async(
        t.HoverParams(t.TextDocumentIdentifier(demo.uri(rel)), position)
    )
    print(hover.contents.value if hover else "(nothing)")


async def _rename(demo: DemoClient) -> None:
    rel, line_text, word = HOVER_AT
    old, new = RENAME
    lines = (demo.root / rel).read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if line_text in line)
    position = t.Position(number, lines[number].index(word))
    print(f"\n== rename {old!r} to {new!r} (textDocument/rename)")
    edit = await demo.client.text_document_rename_async(
        t.RenameParams(text_document=t.TextDocumentIdentifier(demo.uri(rel)), position=position, new_name=new)
    )
    for change in edit.document_changes or []:
        path = Path(change.text_document.uri.removeprefix("file://")).relative_to(demo.root)
        lines_touched = sorted({e.range.start.line + 1 for e in change.edits})
        print(f"  {path}: {len(change.edits)} edits on lines {', '.join(map(str, lines_touched))}")
    for annotation in (edit.change_annotations or {}).values():
        print(f"  annotation: {annotation.label!r}, needs confirmation: {annotation.needs_confirmation}")


async def _diagnostics(demo: DemoClient) -> None:
    print("\n== diagnostics (textDocument/diagnostic, pulled)")
    found = 0
    for path in sorted((demo.root / PACKAGE).glob("*.py")):
        rel = path.relative_to(demo.root).as_posix()
        report = await demo.client.text_document_diagnostic_async(
            t.DocumentDiagnosticParams(t.TextDocumentIdentifier(demo.uri(rel)))
        )
        for d in report.items:
            found += 1
            print(f"  {rel}:{d.range.start.line + 1}:{d.range.start.character + 1} [{d.code}] {d.message}")
    print(f"  {found} findings in {len(list((demo.root / PACKAGE).glob('*.py')))} files on disk")
    rel, typo = TYPO
    text = (demo.root / rel).read_text(encoding="utf-8")
    demo.open(rel, typo + text)
    print(f"  after typing {typo.strip()!r} at the top of {rel} (unsaved):")
    report = await demo.client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(t.TextDocumentIdentifier(demo.uri(rel)))
    )
    for d in report.items:
        print(f"  {rel}:{d.range.start.line + 1}:{d.range.start.character + 1} [{d.code}] {d.message}")


def run_session(stdlib: Path) -> int:
    """Copy the package out of the standard library (the rename and edits must not touch the real one)."""
    with tempfile.TemporaryDirectory(prefix="wholerepo-lsp-demo-") as folder:
        root = Path(folder) / "workspace"
        shutil.copytree(stdlib / PACKAGE, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
        asyncio.run(session(root, Path(folder) / "index"))
    return 0


def plain(params) -> dict:
    """A notification's params as plain dicts (pygls hands unknown methods' params over as named tuples)."""
    if isinstance(params, dict):
        return params
    if hasattr(params, "_asdict"):
        return {k: plain(v) for k, v in params._asdict().items()}
    if isinstance(params, (list, tuple)):
        return [plain(p) for p in params]
    return params
