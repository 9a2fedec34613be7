"""Security through a real client against a real `wholerepo serve`.

1. Confinement: the server runs under a CPython audit hook (`sys.addaudithook`, the `open` event) that
   logs every open of a file outside the workspace root. Documents outside the root, behind symlinks,
   spelled with `%2e%2e` or on another host are opened, changed, saved, reported as changed on disk,
   hovered, navigated, renamed, completed, explained and used as move targets: 0 opens outside, no
   byte of the secret in any answer or in the index, no edit sent to the editor, the outside untouched.
2. The exclusion report: `wholerepo.showExcluded` lists what .wholerepoignore, .gitignore and
   credential names keep out, and what was redacted from the last completion sent to an endpoint
   treated as remote (a recording OpenAI-compatible server on 127.0.0.1 with `redact: true`).
3. `wholerepo serve --tcp 0.0.0.0:PORT` warns that it is reachable from other machines.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest
from lsprotocol import types as t

from ..agent.test_confine_attacks import CANARY, SECRET_SOURCE, attack_uris
from ..engine.openai_stub_server import Reply, StubServer, completion_chunk
from .server_session import FILES, MAIN, start, stop, write_repo

AUDITED_SERVE = """
import os, sys
fence, root = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
log = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        real = os.path.realpath(os.fsdecode(args[0]))
        for tag, base in (("outside", fence), ("inside", root)):
            if real == base or real.startswith(base + os.sep):
                os.write(log, f"{tag} {event} {os.fsdecode(args[0])}\\n".encode())
sys.addaudithook(hook)
from lsp_server.cli import main
sys.exit(main(["serve", "--stdio"]))
"""


def plant(base: Path) -> tuple[Path, Path]:
    root, outside = write_repo(base / "repo"), base / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(SECRET_SOURCE)
    (outside / "opened.py").write_text(SECRET_SOURCE)
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "link_file.py").symlink_to(outside / "secret.py")
    return root, outside


async def answer(request) -> str:
    """What the client got back: the result, or the error, as text."""
    try:
        return repr(await asyncio.wait_for(request, 60))
    except Exception as error:  # noqa: BLE001 - refusals are answers too
        return f"error {type(error).__name__}: {error}"


@pytest.mark.asyncio
async def test_nothing_outside_the_root_is_read_or_written_through_the_server(tmp_path):
    root, outside = plant(tmp_path)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    log = tmp_path / "opens.log"
    command = (sys.executable, "-c", AUDITED_SERVE, str(outside), str(root), str(log))
    options = {
        "backend": {"kind": "local", "checkpoint": str(tmp_path / "no-model")},
        "index_dir": str(tmp_path / "ix"),
    }
    session = await start(root, options, command=command)
    answers: list[str] = []
    try:
        await session.wait_status("index", "ready")
        session.open("main.py", MAIN)
        client = session.client
        uris = attack_uris(root, outside)
        # the editor opens a file outside, with its own text: kept in memory only, never indexed
        opened = (outside / "opened.py").as_uri()
        text = SECRET_SOURCE.replace(CANARY, CANARY + "-BUFFER")
        client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(opened, "python", 1, text)))
        for uri in [*uris, opened]:
            client.text_document_did_change(
                t.DidChangeTextDocumentParams(
                    t.VersionedTextDocumentIdentifier(version=2, uri=uri),
                    [t.TextDocumentContentChangeWholeDocument(text=text + "\n# more\n")],
                )
            )
            client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(uri)))
        client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams([t.FileEvent(uri, t.FileChangeType.Changed) for uri in [*uris, opened]])
        )
        at = t.Position(0, 4)
        for uri in [*uris, opened]:
            doc = t.TextDocumentIdentifier(uri)
            answers += [
                await answer(client.text_document_hover_async(t.HoverParams(doc, at))),
                await answer(client.text_document_definition_async(t.DefinitionParams(doc, at))),
                await answer(
                    client.text_document_references_async(
                        t.ReferenceParams(context=t.ReferenceContext(True), text_document=doc, position=at)
                    )
                ),
                await answer(client.text_document_code_lens_async(t.CodeLensParams(doc))),
                await answer(client.text_document_prepare_rename_async(t.PrepareRenameParams(doc, at))),
                await answer(
                    client.text_document_rename_async(
                        t.RenameParams(text_document=doc, position=at, new_name="renamed")
                    )
                ),
                await answer(
                    client.text_document_code_action_async(
                        t.CodeActionParams(text_document=doc, range=t.Range(at, at), context=t.CodeActionContext([]))
                    )
                ),
                await answer(client.text_document_completion_async(t.CompletionParams(doc, at))),
                await answer(
                    client.text_document_inline_completion_async(
                        t.InlineCompletionParams(
                            t.InlineCompletionContext(t.InlineCompletionTriggerKind.Invoked), doc, at
                        )
                    )
                ),
                await answer(client.text_document_diagnostic_async(t.DocumentDiagnosticParams(doc))),
                await answer(
                    client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.explain", [uri]))
                ),
            ]
        main_uri = session.uri("main.py")
        for target in ["../outside/moved.py", str(outside / "moved.py"), "linkdir/moved.py", "~/moved.py"]:
            arguments = [main_uri, {"line": 8, "character": 11}, target]
            answers.append(
                await answer(
                    client.workspace_execute_command_async(t.ExecuteCommandParams("wholerepo.move", arguments))
                )
            )
        answers.append(
            await answer(client.text_document_hover_async(t.HoverParams(session.doc("main.py"), t.Position(8, 12))))
        )
    finally:
        await stop(session)
    opens = log.read_text().splitlines()
    outside_opens = [line for line in opens if line.startswith("outside")]
    print(
        f"{len(answers)} hostile requests, {len(uris) + 1} hostile URIs; opens outside the root: {len(outside_opens)}"
    )
    assert outside_opens == []
    assert any(line.startswith("inside open") for line in opens), "the audit hook saw the workspace being read"
    assert not any(CANARY in a for a in answers)
    assert "shapes.py" in answers[-1] or "make_circle" in answers[-1]  # the workspace itself still answers
    assert session.applied == []
    for database in (tmp_path / "ix").rglob("*"):
        if database.is_file():
            assert CANARY.encode() not in database.read_bytes() and b"leaked_outside" not in database.read_bytes()
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before


@pytest.mark.asyncio
async def test_show_excluded_lists_what_was_kept_out_and_redacted_from_the_last_request(tmp_path):
    token = "ghp_" + "Z9canary" * 5
    files = {
        **FILES,
        "main.py": MAIN.replace("def unit():", f'GITHUB_TOKEN = "{token}"\n\n\ndef unit():'),
        ".env": f"API_TOKEN={token}\n",
        "config/secrets.py": f'TOKEN = "{token}"\n',
        "private/notes.py": 'NOTE = "private-canary words"\n\n\ndef note():\n    return NOTE\n',
        "build/gen.py": "x = 1\n",
        ".gitignore": "build/\n",
        ".wholerepoignore": "private/\n",
    }
    root = write_repo(tmp_path / "repo", files)
    async with StubServer() as stub:
        options = {
            "backend": {"kind": "openai", "url": stub.url, "model": "m", "tokenizer": "estimate", "redact": True},
            "budgets": {"context_tokens": 4000, "max_tokens": 16},
            "index_dir": str(tmp_path / "ix"),
            "debounce": {"max_ms": 0},
        }
        stub.script("/v1/completions", Reply.sse(completion_chunk("return 1"), completion_chunk("", "stop")))
        session = await start(root, options)
        try:
            await session.wait_status("index", "ready")
            await session.wait_status("engine", "ready")
            text = session.open("main.py", files["main.py"])
            line = text.split("\n").index("def unit():") + 1
            params = t.InlineCompletionParams(
                t.InlineCompletionContext(t.InlineCompletionTriggerKind.Invoked),
                session.doc("main.py"),
                t.Position(line, 4),
            )
            # open in the editor, an ignored file and a credential file still give the model nothing
            for rel in ("private/notes.py", "config/secrets.py"):
                session.open(rel, files[rel])
                at = t.Position(len(files[rel].split("\n")) - 1, 0)
                inside = t.InlineCompletionParams(
                    t.InlineCompletionContext(t.InlineCompletionTriggerKind.Invoked), session.doc(rel), at
                )
                assert not (await session.client.text_document_inline_completion_async(inside)).items
            assert stub.bodies("/v1/completions") == []
            await session.client.text_document_inline_completion_async(params)
            report = await session.client.workspace_execute_command_async(
                t.ExecuteCommandParams("wholerepo.showExcluded")
            )
        finally:
            await stop(session)
        wire = repr([request.body for request in stub.requests])
        url = stub.url
    assert stub.bodies("/v1/completions"), "the completion reached the model server"
    assert token not in wire and "<redacted:github-token>" in wire
    assert "private-canary" not in wire and "def note" not in wire
    assert {(e["path"], e["reason"]) for e in report["excluded"]} == {
        (".env", "credential file"),
        ("config/secrets.py", "credential file"),
        ("private/", ".wholerepoignore"),
        ("build/", ".gitignore"),
    }
    assert report["destination"]["redacted"] is True and report["destination"]["url"] == url
    [last] = [r for r in report["requests"] if r["endpoint"] == url]
    assert last["redacted"] == {"github-token": 1}
    assert "private/" in report["markdown"] and "github-token" in report["markdown"]


@pytest.mark.asyncio
async def test_serving_tcp_on_a_non_loopback_host_warns(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["serve", "--tcp", f"0.0.0.0:{port}", "--log-file", str(tmp_path / "log")]
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lsp_server.cli", *argv, stderr=asyncio.subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(server.stderr.readline(), 60)
    finally:
        server.kill()
        await server.wait()
    assert b"warning: listening on 0.0.0.0, not loopback" in line
