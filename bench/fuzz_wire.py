"""A raw-bytes LSP client over a real `wholerepo serve --stdio` subprocess, for fuzzing.

pygls's client frames and validates everything it sends; a fuzzer needs to send what no client
should: broken headers, bad JSON, wrong types. This client writes bytes as given, reads the
server's output strictly (every frame must be a well-formed JSON-RPC message, else it is recorded
as a violation), and answers the server's own requests (configuration, progress tokens) so the
server never waits on us.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER = [sys.executable, "-m", "lsp_server.cli", "serve", "--stdio"]
WRITE_TIMEOUT_S = 120  # a server that reads nothing for this long is hung


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode(message: dict) -> bytes:
    return frame(json.dumps(message).encode("utf-8"))


@dataclass
class Inbox:
    """What the server sent: responses by id, notifications in order, and anything malformed."""

    responses: dict = field(default_factory=dict)
    orphan_errors: list = field(default_factory=list)  # error responses with id null (parse errors)
    notifications: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)


class RawServer:
    """One server process; `send_bytes` writes anything, `request` + `response` speak JSON-RPC."""

    def __init__(self, cwd: Path | None = None, log_file: Path | None = None) -> None:
        command = SERVER + (["--log-file", str(log_file)] if log_file else [])
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            bufsize=0,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.stdin_fd = self.process.stdin.fileno()
        os.set_blocking(self.stdin_fd, False)  # a write never blocks the fuzzer: a server that stops reading is seen
        self.stuck = False
        self.inbox = Inbox()
        self.ids = itertools.count(1)
        self.lock = threading.Lock()  # one writer at a time: the reader thread answers server requests
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # -- writing ---------------------------------------------------------------------------------

    def send_bytes(self, data: bytes, timeout: float = WRITE_TIMEOUT_S) -> bool:
        """False when the server is gone, or stopped reading for ``timeout`` (then ``stuck`` is set)."""
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        with self.lock:
            while view:
                left = deadline - time.monotonic()
                try:
                    _, writable, _ = select.select([], [self.stdin_fd], [], max(left, 0))
                    if not writable:
                        self.stuck = True
                        return False
                    view = view[os.write(self.stdin_fd, view[:65536]) :]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError, ValueError):
                    return False
        return True

    def send(self, message: dict) -> bool:
        return self.send_bytes(encode(message))

    def notify(self, method: str, params=None) -> bool:
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params=None) -> int:
        msg_id = next(self.ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def next_id(self) -> int:
        return next(self.ids)

    # -- reading ---------------------------------------------------------------------------------

    def response(self, msg_id, timeout: float) -> dict | None:
        """The response to ``msg_id`` (removed from the inbox), or None after ``timeout`` or exit."""
        deadline = time.monotonic() + timeout
        with self.inbox.arrived:
            while msg_id not in self.inbox.responses:
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    return None
                self.inbox.arrived.wait(min(left, 0.5))
            return self.inbox.responses.pop(msg_id)

    def take_orphan_errors(self) -> list[dict]:
        with self.inbox.arrived:
            found, self.inbox.orphan_errors = self.inbox.orphan_errors, []
            return found

    def wait_orphan_error(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.inbox.arrived:
            while not self.inbox.orphan_errors:
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    return None
                self.inbox.arrived.wait(min(left, 0.5))
            return self.inbox.orphan_errors.pop(0)

    def notifications(self, method: str) -> list:
        with self.inbox.arrived:
            return [n["params"] for n in self.inbox.notifications if n.get("method") == method]

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii", "replace").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                self._violation("a frame without Content-Length")
                continue
            body = stream.read(length)
            try:
                message = json.loads(body)
            except ValueError as error:
                self._violation(f"a body that is not JSON: {error}")
                continue
            self._dispatch(message)

    def _dispatch(self, message) -> None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self._violation(f"not a JSON-RPC 2.0 message: {str(message)[:200]}")
            return
        if "method" in message and "id" in message:
            self._answer_server_request(message)
            return
        with self.inbox.arrived:
            if "method" in message:
                self.inbox.notifications.append(message)
            elif "id" in message:
                problem = response_problem(message)
                if problem:
                    self.inbox.violations.append(problem)
                if message["id"] is None:
                    self.inbox.orphan_errors.append(message)
                else:
                    self.inbox.responses[message["id"]] = message
            else:
                self.inbox.violations.append(f"neither request, response nor notification: {message}")
            self.inbox.arrived.notify_all()

    def _answer_server_request(self, message: dict) -> None:
        method = message["method"]
        result = None
        if method == "workspace/configuration":
            result = [None for _ in (message.get("params") or {}).get("items", [])]
        elif method == "workspace/applyEdit":
            result = {"applied": False, "failureReason": "fuzz client applies nothing"}
        self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def _violation(self, what: str) -> None:
        with self.inbox.arrived:
            self.inbox.violations.append(what)
            self.inbox.arrived.notify_all()

    # -- lifecycle -------------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.process.poll() is None

    def initialize(self, root: Path, options: dict, timeout: float = 60) -> dict:
        """initialize + initialized; returns the InitializeResult (RuntimeError if none)."""
        msg_id = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                "initializationOptions": options,
            },
        )
        answer = self.response(msg_id, timeout)
        if answer is None or "result" not in answer:
            raise RuntimeError(f"initialize got {answer}")
        self.notify("initialized", {})
        return answer["result"]

    def close(self, timeout: float = 10) -> int | None:
        """shutdown + exit when it still listens, else kill; the exit status."""
        if self.alive():
            msg_id = self.request("shutdown", None)
            self.response(msg_id, timeout)
            self.notify("exit", None)
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def response_problem(message: dict) -> str | None:
    """Why a response is not a proper JSON-RPC response (None when it is)."""
    has_result, has_error = "result" in message, "error" in message
    if has_result == has_error:
        return f"a response needs exactly one of result and error: {str(message)[:200]}"
    if has_error:
        error = message["error"]
        if (
            not isinstance(error, dict)
            or not isinstance(error.get("code"), int)
            or not isinstance(error.get("message"), str)
        ):
            return f"an error without an integer code and a message: {error}"
    return None
