"""No shell command ever runs from model output.

Statically: agent/ and lsp_server/ never import subprocess nor call os.system/popen/exec/spawn, and the
one process the project starts (the vLLM launcher, from the user's own settings) passes an argv list,
never a shell. Dynamically: a refactor whose model asks for shell tools, puts `$(...)` in paths and
shell code in its edits runs in a subprocess whose CPython audit hook records every process-creation
event; the model gets a refusal naming the four read-only tools, and nothing runs.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPAWN_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
)
FORBIDDEN = re.compile(
    r"^\s*(?:import|from)\s+(?:subprocess|pty)\b|os\.(?:system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork\w*)\s*\("
    r"|create_subprocess_\w+|shell\s*=\s*True",
    re.M,
)


def test_no_code_that_starts_processes_in_agent_or_lsp_server():
    found = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for package in ("agent", "lsp_server")
        for path in sorted((REPO / package).rglob("*.py"))
        for match in FORBIDDEN.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
    launchers = [p for p in (REPO / "engine").rglob("*.py") if FORBIDDEN.search(p.read_text(encoding="utf-8"))]
    assert [p.relative_to(REPO).as_posix() for p in launchers] == ["engine/backends/vllm_launch.py"]
    assert "shell=True" not in (REPO / "engine/backends/vllm_launch.py").read_text(encoding="utf-8")


def run_shell_attack(base: Path) -> dict:
    """In the audited subprocess: a refactor driven by a model that tries to get commands run."""
    spawned: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if event.startswith(SPAWN_EVENTS):
            spawned.append(f"{event} {args!r}"[:200])

    sys.addaudithook(hook)
    marker = base / "pwned"
    requests, outcome = asyncio.run(_refactor_with_a_hostile_model(base, marker))
    during = list(spawned)
    subprocess.run(["true"], check=True)  # the control: the hook does see a process being started
    return {
        "spawned": during,
        "control_seen": len(spawned) > len(during),
        "marker": marker.exists(),
        "requests": requests,
        "outcome": outcome,
    }


async def _refactor_with_a_hostile_model(base: Path, marker: Path) -> tuple[list, str]:
    import agent
    from engine import OpenAIBackend, OpenAISettings
    from tests.agent.test_agent_loop import CHAT, answer
    from tests.engine.openai_stub_server import DEFAULT_MODEL, Reply, StubServer, chat_chunk

    root = base / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "util.py").write_text("def helper(x):\n    return x + 1\n")
    command = f"touch {marker}"
    asks = [
        ("run_shell", {"command": command}),
        ("bash", {"cmd": command}),
        ("execute_command", {"command": command}),
        ("shell", {"command": command}),
        ("read_span", {"path": f"$({command})", "start_line": 1, "end_line": 2}),
        ("read_span", {"path": f"`{command}`", "start_line": 1, "end_line": 2}),
        ("search_symbols", {"query": f"helper; {command}"}),
    ]
    calls = [
        {"index": n, "id": f"c{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for n, (name, args) in enumerate(asks)
    ]
    edit = (
        "<<<<<<< SEARCH\n    return x + 1\n=======\n"
        f"    import os; os.system('{command}')\n    return x + 1\n>>>>>>> REPLACE"
    )
    with agent.Workspace(root, agent.WorkspaceSettings(index_dir=base / "ix", jobs=1)) as ws:
        ws.build_index()
        async with StubServer() as server:
            backend = OpenAIBackend(OpenAISettings(base_url=server.url, model=DEFAULT_MODEL, tokenizer="estimate"))
            server.script(
                CHAT,
                Reply.sse(chat_chunk(tool_calls=calls), chat_chunk(finish="tool_calls")),
                answer(f"FILE: pkg/util.py\nFILE: $({command})\nFILE: pkg/util.py; {command}"),
                answer(edit),
            )
            try:
                change = await agent.refactor(ws, "log calls", backend, path="pkg/util.py")
                outcome = json.dumps([[f.path, [e.new_text for e in f.edits]] for f in change.files])
            finally:
                await backend.aclose()
            return [request.body for request in server.requests], outcome


def test_a_model_asking_for_shell_commands_gets_refusals_and_nothing_runs(tmp_path):
    code = (
        "import json, sys; from pathlib import Path; from tests.agent.test_confine_shell import run_shell_attack; "
        "print(json.dumps(run_shell_attack(Path(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["spawned"] == [] and result["marker"] is False
    assert result["control_seen"]
    tool_replies = [m["content"] for m in result["requests"][1]["messages"] if m["role"] == "tool"]
    assert len(tool_replies) == 7
    assert all(reply.startswith("error: unknown tool") for reply in tool_replies[:4])
    assert "search_symbols, read_span, find_references, list_dependencies" in tool_replies[0]
    assert all("outside the workspace" in reply or "not a source file" in reply for reply in tool_replies[4:6])
    # the model's shell code is only text of a proposed edit, waiting for the user's confirmation
    [[path, [new_text]]] = json.loads(result["outcome"])
    assert path == "pkg/util.py" and "os.system" in new_text
