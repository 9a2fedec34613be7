"""LSP's lifecycle on a fresh server: before initialize, a second initialize, after shutdown, exit.

The spec: a request before `initialize` is answered ServerNotInitialized (-32002) and a notification
is dropped; `initialize` comes once; after `shutdown` requests get InvalidRequest (-32600); `exit`
after `shutdown` ends the process with status 0.
"""

from __future__ import annotations

import os
import subprocess

from .fuzz_messages import INVALID_REQUEST, NOT_INITIALIZED
from .fuzz_wire import RawServer

TIMEOUT_S = 60


def check_lifecycle(session) -> None:
    """One fresh server through the whole lifecycle; each broken rule is a finding in the session's tally."""
    tally = session.tally
    tally.lifecycle_checks += 1
    server = RawServer(cwd=session.repo, log_file=session.base / "lifecycle.log")
    hover = {"textDocument": {"uri": (session.root / "shapes.py").as_uri()}, "position": {"line": 0, "character": 4}}
    problems = []

    def expect_error(method: str, params, code: int, when: str) -> None:
        msg_id = server.request(method, params)
        tally.messages += 1
        answer = server.response(msg_id, TIMEOUT_S)
        got = (answer or {}).get("error", {}).get("code") if answer else None
        if got != code:
            problems.append(f"{method} {when}: expected error {code}, got {answer}")
        else:
            tally.errors[code] += 1

    expect_error("textDocument/hover", hover, NOT_INITIALIZED, "before initialize")
    server.notify("textDocument/didClose", {"textDocument": {"uri": hover["textDocument"]["uri"]}})
    tally.messages += 1
    options = {
        "backend": {"kind": "local", "checkpoint": str(session.base / "no-model")},
        "index_dir": str(session.base / "lifecycle-index"),
    }
    try:
        server.initialize(session.root, options, TIMEOUT_S)
        tally.messages += 2
    except RuntimeError as error:
        problems.append(f"initialize after an early request: {error}")
    expect_error("initialize", {"capabilities": {}, "processId": os.getpid()}, INVALID_REQUEST, "a second time")
    shutdown = server.request("shutdown", None)
    tally.messages += 1
    answer = server.response(shutdown, TIMEOUT_S)
    if answer is None or "result" not in answer:
        problems.append(f"shutdown answered {answer}")
    expect_error("textDocument/hover", hover, INVALID_REQUEST, "after shutdown")
    server.notify("exit", None)
    tally.messages += 1
    try:
        status = server.process.wait(TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.process.kill()
        status = "still running"
    if status != 0:
        problems.append(f"exit after shutdown: status {status}")
    problems += [f"malformed server output: {violation}" for violation in server.inbox.violations]
    for problem in problems:
        tally.wrong_answers += 1
        tally.find(problem, None)
