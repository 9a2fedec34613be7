"""The confinement attack suite: a secret planted next to the workspace is never read, sent or written.

A file outside the root holds a canary. Every entry point that takes a path (packing, the agent loop's
tools, the model-driven refactor with a recording model server on 127.0.0.1, move and rename targets,
the index's update/refresh/read, explanations, navigation, the CLI) is fed `..`, absolute paths, `~`,
backslashes, `%2e%2e`, case variants, NUL bytes, file and directory symlinks pointing out (one made
after indexing, one swapped in for an indexed file) and file URIs with other hosts. They run in a
subprocess whose CPython audit hook (`sys.addaudithook`, the `open` event) records every open of a
file outside the root; the test then asserts 0 such opens, no canary byte in any output, request,
or the index database, and the outside folder unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

CANARY = "CANARY-9f2c"
SECRET_SOURCE = f'SECRET_CANARY = "{CANARY}-OUTSIDE"\n\n\ndef leaked_outside():\n    return SECRET_CANARY\n'
WORKSPACE_FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": "def helper(x):\n    return x + 1\n",
    "pkg/app.py": "from pkg.util import helper\n\n\ndef run():\n    return helper(1)\n",
    "swapped.py": "def swapped():\n    return 0\n",
    ".wholerepoignore": "private/\n",
}


def plant(base: Path) -> tuple[Path, Path]:
    """The workspace and, beside it, the outside folder with the secret and the links pointing at it."""
    root, outside = base / "ws", base / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.py").write_text(SECRET_SOURCE)
    (outside / "sub" / "deep.py").write_text(SECRET_SOURCE)
    (outside / ".env").write_text(f"API_TOKEN={CANARY}-ENV\n")
    (outside / "gitignore").write_text("pkg/\n")  # followed, it would hide pkg/ from the index
    for rel, text in WORKSPACE_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "link_file.py").symlink_to(outside / "secret.py")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "pkg" / "rel_link.py").symlink_to("../../outside/secret.py")
    (root / ".gitignore").symlink_to(outside / "gitignore")
    return root, outside


def attack_paths(root: Path, outside: Path) -> list[str]:
    return [
        "../outside/secret.py",
        "pkg/../../outside/secret.py",
        str(outside / "secret.py"),
        f"{root}/../outside/secret.py",
        f"{root}/linkdir/secret.py",
        "linkdir/secret.py",
        "linkdir/sub/deep.py",
        "linkdir/.env",
        "link_file.py",
        "pkg/rel_link.py",
        "late_link.py",  # a symlink made after indexing
        "swapped.py",  # indexed as a real file, then replaced by a symlink out
        "~/secret.py",
        "~root/secret.py",
        "..\\outside\\secret.py",
        "%2e%2e/outside/secret.py",
        "LINKDIR/secret.py",
        "Link_File.py",
        "pkg/app.py\0/../../../outside/secret.py",
        "",
    ]


def attack_uris(root: Path, outside: Path) -> list[str]:
    host_path = f"{outside}/secret.py"
    return [
        (outside / "secret.py").as_uri(),
        f"file://{root}/%2e%2e/outside/secret.py",
        f"file://{root}/pkg/%2E%2E/%2E%2E/outside/secret.py",
        f"file://{root}/linkdir/secret.py",
        f"file://{root}/link_file.py",
        f"file://{root}/LINKDIR/secret.py",
        f"file://evil.example{host_path}",
        f"file://127.0.0.1{host_path}",
        f"http://127.0.0.1{host_path}",
        f"file:{host_path}",
    ]


# -- what runs in the audited subprocess ------------------------------------------------------------


def install_open_audit(outside: Path, opens: list[str]) -> None:
    """Record every open (and directory listing) of a path that really lies under ``outside``."""
    fence = os.path.realpath(outside)

    def hook(event: str, args: tuple) -> None:
        if event not in ("open", "os.listdir", "os.scandir") or not args or isinstance(args[0], int) or args[0] is None:
            return
        path = os.fsdecode(args[0])
        real = os.path.realpath(path)
        if real == fence or real.startswith(fence + os.sep):
            opens.append(f"{event} {path}")

    sys.addaudithook(hook)


def run_attacks(base: Path) -> dict:
    root, outside = base / "ws", base / "outside"
    opens: list[str] = []
    install_open_audit(outside, opens)  # from here on, every open outside the root is counted

    import agent
    from agent.refactor.loop import WorkspaceTools
    from engine import ToolCall

    transcript: list[str] = []
    attempts = 0

    def attempt(label: str, fn, *args, **kwargs):
        nonlocal attempts
        attempts += 1
        try:
            result = fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every refusal is recorded, whatever its type
            transcript.append(f"{label}: refused {type(error).__name__}: {error}")
            return None
        transcript.append(f"{label}: {result!r}")
        return result

    tokenizer = agent.load_tokenizer("estimate")
    ws = agent.Workspace(root, agent.WorkspaceSettings(index_dir=base / "index", jobs=1))
    ws.build_index()
    baseline = ws.pack("pkg/app.py", 5, 5, 400, tokenizer)
    indexed = sorted(ws.index.store.paths())
    (root / "late_link.py").symlink_to(outside / "secret.py")
    (root / "swapped.py").unlink()
    (root / "swapped.py").symlink_to(outside / "secret.py")
    paths = attack_paths(root, outside)
    tools = WorkspaceTools(ws)
    for path in paths:
        attempt(f"pack {path!r}", ws.pack, path, 1, 1, 400, tokenizer)
        attempt(f"pack+buffer {path!r}", ws.pack, path, 1, 1, 400, tokenizer, buffer="x = 1\n")
        attempt(f"relative {path!r}", ws.relative, path)
        attempt(f"source_text {path!r}", ws.index.source_text, path)
        attempt(f"refresh {path!r}", ws.index.refresh, [path])
        attempt(f"update {path!r}", ws.index.update, path, "y = 2\n")
        attempt(f"close_buffer {path!r}", ws.index.close_buffer, path)
        for tool, arguments in (
            ("read_span", {"path": path, "start_line": 1, "end_line": 50}),
            ("list_dependencies", {"path": path}),
            ("find_references", {"path": path, "line": 1, "name": "SECRET_CANARY"}),
        ):
            attempt(f"tool {tool} {path!r}", tools.call, ToolCall("t", tool, json.dumps(arguments)))
        attempt(f"explain_file {path!r}", agent.explain_file, ws, path)
        attempt(f"definition_at {path!r}", agent.definition_at, ws, path, agent.Position(0, 0))
        attempt(f"rename {path!r}", agent.rename, ws, path, agent.Position(0, 4), "renamed")
        change = attempt(f"move to {path!r}", agent.move_definition, ws, "pkg/util.py", agent.Position(0, 4), path)
        if change is not None:
            attempt(f"apply move to {path!r}", agent.apply_to_disk, ws, change)
    for uri in attack_uris(root, outside):
        attempt(f"uri {uri!r}", ws.relative_uri, uri)
    transcript += _cli_attacks(root, base, paths, attempt)
    requests, outcome = asyncio.run(_model_refactor_attack(ws, paths))
    transcript.append(outcome)
    attempts += 1
    ws.close()
    attacked = list(opens)
    (outside / "secret.py").stat()
    (outside / "gitignore").read_bytes()  # the control: the hook does see a plain read outside
    return {
        "attempts": attempts,
        "opens_outside": attacked,
        "control_seen": opens[len(attacked) :],
        "transcript": transcript,
        "model_requests": requests,
        "baseline_items": [item.path for item in baseline.items],
        "indexed": indexed,
    }


def _cli_attacks(root: Path, base: Path, paths: list[str], attempt) -> list[str]:
    from lsp_server.cli import main

    out = []
    common = ["--index-dir", str(base / "index"), "--jobs", "1"]
    for path in paths:
        for argv in (
            ["pack", str(root), "--pos", f"{path}:1:1", "--budget", "300", "--tokenizer", "estimate", "--json"],
            ["deps", str(root), path],
            ["move", str(root), "pkg/util.py:1:5", path, "--apply"],
            ["rename", str(root), f"{path}:1:1", "renamed", "--apply"],
        ):
            stdout, stderr = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = attempt(f"cli {argv[0]} {path!r}", main, [*argv, *common])
            out.append(f"cli {argv[0]} {path!r} -> {code}: {stdout.getvalue()} {stderr.getvalue()}")
    return out


async def _model_refactor_attack(ws, paths: list[str]) -> tuple[list, str]:
    """A model that asks to read the attack paths with its tools and names them as files to edit."""
    import agent
    from engine import OpenAIBackend, OpenAISettings
    from tests.agent.test_agent_loop import CHAT, answer
    from tests.engine.openai_stub_server import DEFAULT_MODEL, Reply, StubServer, chat_chunk

    calls = [
        {
            "index": n,
            "id": f"c{n}",
            "type": "function",
            "function": {"name": "read_span", "arguments": json.dumps({"path": p, "start_line": 1, "end_line": 9})},
        }
        for n, p in enumerate(paths)
    ]
    async with StubServer() as server:
        backend = OpenAIBackend(
            OpenAISettings(base_url=server.url, model=DEFAULT_MODEL, tokenizer="estimate", context_window=64000)
        )
        server.script(
            CHAT,
            Reply.sse(chat_chunk(tool_calls=calls), chat_chunk(finish="tool_calls")),
            answer("\n".join(f"FILE: {p}" for p in [*paths, "pkg/util.py"])),
            *[answer("NO CHANGES") for _ in range(8)],
        )
        try:
            change = await agent.refactor(ws, "inline helper", backend, path="pkg/util.py")
            outcome = f"model refactor: edits {[f.path for f in change.files]}"
        except Exception as error:  # noqa: BLE001 - recorded like every other refusal
            outcome = f"model refactor: refused {type(error).__name__}: {error}"
        finally:
            await backend.aclose()
        return [request.body for request in server.requests], outcome


# -- the test -----------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_no_read_write_or_send_outside_the_workspace_under_attack(tmp_path):
    root, outside = plant(tmp_path)
    before = snapshot(outside)
    code = (
        "import json, sys; from pathlib import Path; from tests.agent.test_confine_attacks import run_attacks; "
        "print(json.dumps(run_attacks(Path(sys.argv[1]))))"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=repo, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"attacks tried: {result['attempts']}; opens outside the root: {len(result['opens_outside'])}")
    assert result["opens_outside"] == []
    assert result["control_seen"] == [f"open {tmp_path / 'outside' / 'gitignore'}"]
    assert result["attempts"] >= 300
    # the workspace itself still works: the symlinked .gitignore (which would hide pkg/) was not followed
    assert {"pkg/app.py", "pkg/util.py", "swapped.py"} <= set(result["indexed"])
    assert not any("secret" in path or "link" in path for path in result["indexed"])
    assert "pkg/util.py" in result["baseline_items"]
    assert CANARY not in json.dumps(result)  # outputs, refusals, and every request the model server got
    for database in (tmp_path / "index").glob("*"):
        assert CANARY.encode() not in database.read_bytes()
    assert result["model_requests"], "the model server saw the refactor"
    assert snapshot(outside) == before
    assert not (outside / "renamed.py").exists()
