"""One fuzzing session: a workspace, a real server, cases sent one by one and each checked.

After a case the server must have answered what it owed (a result or an allowed error code, an
error with id null for an unreadable message) and must still serve: a `wholerepo.status` command
and a hover on a file the fuzzer never touches are answered correctly. A server that exits is a
crash (restarted, counted); a request unanswered while the server lives is a hang.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .fuzz_messages import ASSIGN, EXTENSIONS, INTERNAL, Case, World
from .fuzz_wire import RawServer, encode

PROBE_FILE = "shapes.py"
PROBE_TEXT = '''def circle_area(radius):
    """Area of a circle."""
    return 3.14159 * radius * radius


total = circle_area(2.0)
'''
PROBE_AT = {"line": 5, "character": 10}  # on `circle_area` in the call
ANSWER_TIMEOUT_S = 60  # generous: huge documents on a busy two-core machine
RESYNC_PROBES = 3  # a lying Content-Length may swallow the probes that follow it
RESYNC_WAIT_S = 1.0  # how long a probe that may have been swallowed is waited for before the next


@dataclass
class Tally:
    cases: int = 0
    messages: int = 0  # frames of generated traffic sent (probes not included)
    documents: int = 0
    probes: int = 0
    crashes: int = 0
    restarts: int = 0
    hangs: int = 0
    internal_errors: int = 0
    wrong_answers: int = 0
    lifecycle_checks: int = 0
    violations: int = 0  # server output that was not well-formed JSON-RPC
    kinds: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # error code -> count, over all responses to fuzz traffic
    findings: list = field(default_factory=list)  # what went wrong, with the case, for a person to reproduce

    def find(self, what: str, case: Case | None) -> None:
        frames = [f if isinstance(f, dict) else f[:300].decode("latin-1") for f in case.frames] if case else []
        self.findings.append({"what": what, "kind": case.kind if case else None, "frames": json.dumps(frames)[:2000]})

    @property
    def clean(self) -> bool:
        return not (self.crashes or self.hangs or self.internal_errors or self.wrong_answers or self.violations)


def make_workspace(base: Path) -> World:
    root = base / "workspace"
    root.mkdir(parents=True, exist_ok=True)
    (root / PROBE_FILE).write_text(PROBE_TEXT, encoding="utf-8")
    (base / "outside.py").write_text("SECRET = 1\n", encoding="utf-8")
    uris = tuple((root / f"fuzz_{n}{ext}").as_uri() for n, ext in enumerate(EXTENSIONS))
    return World(uris=uris, outside_uri=(base / "outside.py").as_uri())


class FuzzSession:
    def __init__(self, base: Path, keep_dir: Path | None = None) -> None:
        self.base = base
        self.keep_dir = keep_dir  # where cases that crashed or hung the server are written
        self.world = make_workspace(base)
        self.root = base / "workspace"
        self.tally = Tally()
        self.server: RawServer | None = None
        self.fresh_ids = 0
        self.repo = Path(__file__).resolve().parent.parent  # the server runs from the checkout

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.server = RawServer(cwd=self.repo, log_file=self.base / "server.log")
        options = {
            "backend": {"kind": "local", "checkpoint": str(self.base / "no-model")},
            "index_dir": str(self.base / "index"),
        }
        self.server.initialize(self.root, options)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._status_ready():
                return
            time.sleep(0.2)
        raise RuntimeError("the server never reported its index ready")

    def stop(self) -> int | None:
        if self.server is None:
            return None
        status = self.server.close()
        self._count_violations()
        return status

    def restart(self) -> None:
        if self.server is not None and self.server.alive():
            self.server.process.kill()
        self._count_violations()
        self.tally.restarts += 1
        self.start()

    def _count_violations(self) -> None:
        """Frames the server wrote that were not well-formed JSON-RPC (see RawServer)."""
        for violation in self.server.inbox.violations:
            self.tally.violations += 1
            self.tally.find(f"malformed server output: {violation}", None)
        self.server.inbox.violations.clear()

    # -- one case --------------------------------------------------------------------------------

    def run(self, case: Case, probe: bool = True) -> None:
        """Send the case, check what it owed, then check the server still serves."""
        tally, server = self.tally, self.server
        tally.cases += 1
        tally.kinds[case.kind.split(" ")[0]] += 1
        tally.documents += case.documents
        request_ids = []
        for item in case.frames:
            if isinstance(item, dict) and item.get("id") == ASSIGN:
                self.fresh_ids += 1
                msg_id = f"fuzz-{self.fresh_ids}"
                request_ids.append(msg_id)
                item = {**item, "id": msg_id}
            data = encode(item) if isinstance(item, dict) else item
            tally.messages += 1
            if not server.send_bytes(data):
                break
        if server.stuck:
            self._hung(case, "the server stopped reading its input")
            return
        for msg_id in request_ids:
            self._check_answer(case, server.response(msg_id, ANSWER_TIMEOUT_S))
        if case.expect == "orphan":
            self._check_orphan(case, server.wait_orphan_error(ANSWER_TIMEOUT_S))
        if probe or not server.alive():
            self.probe(case)

    def _check_answer(self, case: Case, answer: dict | None) -> None:
        tally = self.tally
        if answer is None:
            self._lost(case)
            return
        if "error" not in answer:
            if case.expect == "error":
                tally.wrong_answers += 1
                tally.find(f"expected an error {sorted(case.codes)}, got a result", case)
            return
        code = answer["error"].get("code")
        tally.errors[code] += 1
        if code == INTERNAL:
            tally.internal_errors += 1
            tally.find(f"internal error: {answer['error'].get('message')}", case)
        elif code not in case.codes:
            tally.wrong_answers += 1
            tally.find(f"error {code} not in {sorted(case.codes)}: {answer['error'].get('message')}", case)

    def _check_orphan(self, case: Case, error: dict | None) -> None:
        if error is None:
            self._lost(case, "no error with id null")
            return
        code = error["error"].get("code")
        self.tally.errors[code] += 1
        if code not in case.codes:
            self.tally.wrong_answers += 1
            self.tally.find(f"id-null error {code} not in {sorted(case.codes)}", case)

    def _lost(self, case: Case, what: str = "no answer") -> None:
        if self.server.alive():
            self._hung(case, f"{what} within {ANSWER_TIMEOUT_S}s")
        else:
            self._crashed(case)

    def _hung(self, case: Case | None, what: str) -> None:
        """A hang: the case is kept for a person to replay, the server restarted."""
        self.tally.hangs += 1
        self.tally.find(what, case)
        self._keep(case, "hang")
        self.restart()

    def _crashed(self, case: Case | None) -> None:
        self.tally.crashes += 1
        self.tally.find(f"server exited with status {self.server.process.poll()}", case)
        self._keep(case, "crash")
        self.restart()

    def _keep(self, case: Case | None, what: str) -> None:
        """The whole case, bytes included, under ``keep_dir`` (frames as latin-1 text, dicts as JSON)."""
        if case is None or self.keep_dir is None:
            return
        self.keep_dir.mkdir(parents=True, exist_ok=True)
        frames = [f if isinstance(f, dict) else {"bytes": f.decode("latin-1")} for f in case.frames]
        path = self.keep_dir / f"{what}-{len(self.tally.findings)}.json"
        path.write_text(json.dumps({"kind": case.kind, "expect": case.expect, "frames": frames}))
        self.tally.findings[-1]["kept"] = str(path)

    # -- is it still serving? --------------------------------------------------------------------

    def probe(self, case: Case | None = None) -> None:
        """status and hover answered correctly; a few tries when the case broke the framing."""
        tries = RESYNC_PROBES if case is not None and case.expect == "desync" else 1
        for attempt in range(tries):
            status = self._status_ready(timeout=ANSWER_TIMEOUT_S if attempt == tries - 1 else RESYNC_WAIT_S)
            if status:
                break
        else:
            if not self.server.alive():
                self._crashed(case)
                return
            self._hung(case, "status unanswered after the case")
            return
        self.tally.probes += 1
        hover = self._hover()
        if hover is None or "circle_area" not in json.dumps(hover):
            self.tally.wrong_answers += 1
            self.tally.find(f"probe hover answered {str(hover)[:300]}", case)
        for orphan in self.server.take_orphan_errors():
            self.tally.errors[orphan["error"].get("code")] += 1

    def _status_ready(self, timeout: float = 10) -> bool:
        msg_id = self.server.request("workspace/executeCommand", {"command": "wholerepo.status", "arguments": []})
        answer = self.server.response(msg_id, timeout)
        result = answer.get("result") if answer else None
        return isinstance(result, dict) and result.get("index", {}).get("state") == "ready" and "engine" in result

    def _hover(self) -> dict | None:
        uri = (self.root / PROBE_FILE).as_uri()
        msg_id = self.server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": PROBE_AT})
        answer = self.server.response(msg_id, ANSWER_TIMEOUT_S)
        return answer.get("result") if answer else None
