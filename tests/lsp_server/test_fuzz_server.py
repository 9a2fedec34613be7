"""Fuzzing the real server process: adversarial LSP traffic gets proper JSON-RPC answers, never a crash.

The cases (bench/fuzz_messages.py) go through a raw-bytes client to `wholerepo serve --stdio`; after
each one the server must have answered what it owed and still answer status and hover correctly.
Derandomized and few, so `make test` stays reproducible and quick; bench/fuzz_eval.py sends 10,000+.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_lifecycle import check_lifecycle
from bench.fuzz_messages import INVALID_PARAMS, INVALID_REQUEST, PARSE, cases
from bench.fuzz_session import FuzzSession
from bench.fuzz_wire import encode, frame
from lsp_server.transport import MAX_BODY, MAX_LINE, SafeStdin


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    fuzzing = FuzzSession(tmp_path_factory.mktemp("fuzz"))
    fuzzing.start()
    yield fuzzing
    assert fuzzing.stop() == 0, "the server did not exit cleanly after all the fuzzing"
    assert fuzzing.tally.violations == 0, findings(fuzzing)  # every frame the server wrote was proper JSON-RPC


def findings(session) -> str:
    return json.dumps(session.tally.findings, indent=1)[:4000]


@settings(max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_traffic_is_answered_and_the_server_keeps_serving(session, data):
    before = len(session.tally.findings)
    session.run(data.draw(cases(session.world, max_text=2_000)), probe=True)
    assert session.tally.findings[before:] == []
    assert session.tally.restarts == 0


def test_each_kind_of_bad_request_gets_its_error_code(session):
    server = session.server
    hover = {"textDocument": {"uri": (session.root / "shapes.py").as_uri()}, "position": {"line": 0, "character": 4}}
    checks = [
        ({"jsonrpc": "2.0", "id": 9001, "method": "textDocument/hover", "params": {"textDocument": 5}}, INVALID_PARAMS),
        (
            {
                "jsonrpc": "2.0",
                "id": 9002,
                "method": "textDocument/hover",
                "params": {**hover, "position": {"line": -1, "character": 0}},
            },
            INVALID_PARAMS,
        ),
        ({"jsonrpc": "2.0", "id": 9003, "method": "no/such/method", "params": {}}, -32601),
        ({"jsonrpc": "2.0", "id": 9004, "method": "$/unknownRequest"}, -32601),
        ({"id": 9005, "method": "textDocument/hover", "params": hover}, INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 9006, "method": 42}, INVALID_REQUEST),
        (
            {
                "jsonrpc": "2.0",
                "id": 9007,
                "method": "workspace/executeCommand",
                "params": {"command": "wholerepo.explain", "arguments": []},
            },
            INVALID_PARAMS,
        ),
        (
            {
                "jsonrpc": "2.0",
                "id": 9008,
                "method": "workspace/executeCommand",
                "params": {"command": "wholerepo.explain", "arguments": ["untitled:x", {"line": 0, "character": 0}]},
            },
            INVALID_PARAMS,
        ),
        ({"jsonrpc": "2.0", "id": 9009, "method": "initialize", "params": {"capabilities": {}}}, INVALID_REQUEST),
        (
            {
                "jsonrpc": "2.0",
                "id": 9010,
                "method": "textDocument/rename",
                "params": {
                    "textDocument": {"uri": "untitled:x"},
                    "position": {"line": 0, "character": 0},
                    "newName": "y",
                },
            },
            INVALID_PARAMS,
        ),
        (
            {
                "jsonrpc": "2.0",
                "id": 9011,
                "method": "workspace/executeCommand",
                "params": {"command": "wholerepo.explain", "arguments": [(session.root / "missing.py").as_uri(), None]},
            },
            -32803,  # RequestFailed: a workspace path the index does not have
        ),
    ]
    for message, code in checks:
        server.send(message)
        answer = server.response(message["id"], 30)
        assert answer is not None and answer["error"]["code"] == code, (message, answer)
        assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    for body, code in (
        (b"{oops", PARSE),
        (b"[1, 2]", INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1.5}', INVALID_REQUEST),
    ):
        server.send_bytes(frame(body))
        orphan = server.wait_orphan_error(30)
        assert orphan is not None and orphan["id"] is None and orphan["error"]["code"] == code, (body, orphan)
    session.probe()
    assert session.tally.clean, findings(session)


def test_the_stream_resynchronises_after_a_broken_frame(session):
    server = session.server
    server.send_bytes(b"Content-Length: 12\r\n\r\n{}" + b"garbage with no newline")  # the length cuts the garbage
    msg_id = server.request("workspace/executeCommand", {"command": "wholerepo.status"})
    answer = server.response(msg_id, 30)
    assert answer is not None and answer["result"]["index"]["state"] == "ready", answer
    orphan = server.wait_orphan_error(30)
    assert orphan is not None and orphan["error"]["code"] == PARSE, orphan


def test_an_oversized_body_is_discarded_with_a_parse_error_naming_its_size(session):
    server = session.server
    size = MAX_BODY + 1
    server.send_bytes(b"Content-Length: %d\r\n\r\n" % size + b" " * size)
    orphan = server.wait_orphan_error(60)
    assert orphan is not None and orphan["error"]["code"] == PARSE and str(size) in orphan["error"]["message"]
    session.probe()
    assert session.tally.clean, findings(session)


def test_lifecycle_before_initialize_twice_and_after_shutdown(session):
    before = session.tally.wrong_answers
    check_lifecycle(session)
    assert session.tally.wrong_answers == before, findings(session)


def test_safe_stdin_bounds_lines_and_splits_at_a_header():
    message = encode({"jsonrpc": "2.0", "method": "x"})
    stream = SafeStdin(io.BytesIO(b"junk" + message + b"Y" * (MAX_LINE * 2) + b"\r\n"))
    assert stream.readline() == b"junk"  # the garbage before the header, alone
    assert stream.readline().startswith(b"Content-Length:")
    assert stream.readline() == b"\r\n"
    assert stream.read(len(message) - message.index(b"{")).startswith(b"{")
    assert len(stream.readline()) == MAX_LINE  # a huge line comes in bounded pieces
    assert stream.read(MAX_BODY + 10) == b""  # an oversized body at end of input: EOF, not a huge allocation
