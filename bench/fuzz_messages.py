"""Hypothesis strategies for adversarial LSP traffic, each case with what the server owes in reply.

A `Case` is a few frames (raw bytes, or JSON objects framed when sent) and an expectation: the
error codes a request may be answered with, an error with id null (unreadable message), nothing
(a notification), or a broken frame after which the stream has to resynchronise. The same
strategies drive the pytest fuzz test (few examples, derandomized) and bench/fuzz_eval.py (10,000+).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hypothesis import strategies as st

from .fuzz_wire import frame

ASSIGN = "$id"  # placeholder replaced by a fresh request id when the case is sent

PARSE, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS, INTERNAL = -32700, -32600, -32601, -32602, -32603
NOT_INITIALIZED, REQUEST_FAILED, CONTENT_MODIFIED, CANCELLED = -32002, -32803, -32801, -32800
# What a well-formed request may be refused with. InternalError is not here: it means a handler crashed.
REFUSALS = frozenset({INVALID_PARAMS, REQUEST_FAILED, CONTENT_MODIFIED, CANCELLED})

EXTENSIONS = (".py", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".cpp", ".h")
POSITION_REQUESTS = (
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/completion",
    "textDocument/inlineCompletion",
    "textDocument/prepareRename",
    "textDocument/rename",
)
DOCUMENT_REQUESTS = ("textDocument/codeLens", "textDocument/diagnostic", "textDocument/codeAction")
NOTIFICATIONS = (
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "workspace/didChangeConfiguration",
    "workspace/didChangeWatchedFiles",
    "$/cancelRequest",
    "$/setTrace",
)
COMMANDS = ("wholerepo.status", "wholerepo.explain", "wholerepo.showContext", "wholerepo.showReferences")


@dataclass(frozen=True)
class Case:
    kind: str
    frames: tuple  # bytes (sent as is) or dict (framed; an "id" of ASSIGN gets a fresh id)
    expect: str  # "answer" | "error" | "orphan" | "nothing" | "desync"
    codes: frozenset[int] = field(default_factory=frozenset)  # error codes allowed (answer) or required (error)
    documents: int = 0  # generated documents among the frames (didOpen / whole-text didChange)


@dataclass(frozen=True)
class World:
    """The workspace the fuzzer writes into: `uris` may be opened and changed at will."""

    uris: tuple[str, ...]
    outside_uri: str  # a file URI outside the workspace root


# -- building blocks ------------------------------------------------------------------------------

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
ASTRAL = st.sampled_from("😀𝔘𐍈🐍")
NASTY = st.sampled_from(["\x00", "\r", "\n", "\ufeff", "\u2028", "\x0c", "\t", "é", "\u200b"])
CHARS = st.one_of(st.characters(), ASTRAL, NASTY, SURROGATE)
SOURCE_BITS = st.sampled_from(
    [
        "\r\n",
        "def f(x):\n",
        "    return x\n",
        "class A:\n",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "import os\n",
        "fn main() {",
        "func f() {",
        "#include <x.h>\n",
        "/*",
        "*/",
        '"',
        "'''",
        "`${",
        "package p\n",
        "public class C {",
        "<T>",
    ]
)
TEXT = st.lists(st.one_of(st.text(CHARS, max_size=20), SOURCE_BITS), max_size=30).map("".join)
INT = st.one_of(
    st.integers(0, 40), st.sampled_from([-1, 2**31 - 1, 2**31, 2**53, -(2**63)]), st.integers(-(2**70), 2**70)
)
JSON = st.recursive(
    st.none() | st.booleans() | INT | st.floats(allow_nan=False) | st.text(CHARS, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


POSITION = st.fixed_dictionaries({"line": INT, "character": INT})
RANGE = st.fixed_dictionaries({"start": POSITION, "end": POSITION})


def _request(method: str, params) -> dict:
    return {"jsonrpc": "2.0", "id": ASSIGN, "method": method, "params": params}


def _notification(method: str, params) -> dict:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def _position(draw) -> dict:
    return {"line": draw(INT), "character": draw(INT)}


def _range(draw) -> dict:
    return {"start": _position(draw), "end": _position(draw)}


def _uri(draw, world: World) -> str:
    return draw(
        st.one_of(
            st.sampled_from(world.uris),
            st.just(world.outside_uri),
            st.sampled_from(["untitled:Untitled-1", "http://example.invalid/x.py", "file://%zz", "", "file:///"]),
            st.text(max_size=30),
        )
    )


# -- the kinds of case ----------------------------------------------------------------------------


@st.composite
def bad_json(draw) -> Case:
    """A well-framed body that is not JSON (or not an object): an error with id null."""
    body = draw(
        st.one_of(
            st.binary(min_size=1, max_size=200),
            st.sampled_from([b"{", b'{"jsonrpc": "2.0", "id": 1, "method": "x"', b"\xff\xfe{}", b"[" * 50_000, b" "]),
            JSON.map(lambda v: json.dumps(v).encode()),
        )
    )
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return Case("bad_json", (frame(body),), "orphan", frozenset({PARSE}))
    if isinstance(parsed, dict):
        return Case("bad_json", (frame(body),), "desync")  # a JSON object: whatever it means, it must not hurt
    return Case("bad_json", (frame(body),), "orphan", frozenset({INVALID_REQUEST}))


@st.composite
def bad_framing(draw) -> Case:
    """Broken headers and lengths; afterwards the stream must find the next message."""
    body = json.dumps(_notification("$/setTrace", {"value": "off"})).encode()
    variant = draw(
        st.sampled_from(
            [
                "no_length",
                "not_number",
                "lowercase",
                "lf_only",
                "short",
                "long",
                "garbage",
                "double",
                "negative",
                "no_blank",
                "huge_line",
            ]
        )
    )
    data = {
        "no_length": b"Content-Type: application/json\r\n\r\n" + body,
        "not_number": b"Content-Length: ten\r\n\r\n" + body,
        "lowercase": b"content-length: %d\r\n\r\n" % len(body) + body,
        "lf_only": b"Content-Length: %d\n\n" % len(body) + body,
        "short": b"Content-Length: %d\r\n\r\n" % max(1, len(body) - draw(st.integers(1, 20))) + body,
        "long": b"Content-Length: %d\r\n\r\n" % (len(body) + draw(st.integers(1, 40))) + body,
        "garbage": draw(st.binary(min_size=1, max_size=300)),
        "double": b"Content-Length: %d\r\nContent-Length: 3\r\n\r\n" % len(body) + body,
        "negative": b"Content-Length: -5\r\n\r\n" + body,
        "no_blank": b"Content-Length: %d\r\n" % len(body) + body,
        "huge_line": b"X" * draw(st.integers(70_000, 200_000)) + b"\r\n",
    }[variant]
    return Case(f"framing_{variant}", (data,), "desync")


@st.composite
def bad_envelope(draw) -> Case:
    """JSON objects that are not valid JSON-RPC: InvalidRequest, with the id when it is readable."""
    variant = draw(
        st.sampled_from(["no_jsonrpc", "old_version", "bad_id", "method_type", "params_scalar", "batch", "empty"])
    )
    if variant == "no_jsonrpc":
        return Case(
            "envelope_no_jsonrpc",
            ({"id": ASSIGN, "method": "textDocument/hover"},),
            "error",
            frozenset({INVALID_REQUEST}),
        )
    if variant == "old_version":
        return Case(
            "envelope_version",
            ({"jsonrpc": "1.0", "id": ASSIGN, "method": "shutdown"},),
            "error",
            frozenset({INVALID_REQUEST}),
        )
    if variant == "bad_id":
        bad = draw(st.one_of(st.none(), st.booleans(), st.floats(), st.lists(INT, max_size=2), st.just({})))
        message = {
            "jsonrpc": "2.0",
            "id": bad,
            "method": "workspace/executeCommand",
            "params": {"command": "wholerepo.status"},
        }
        return Case("envelope_bad_id", (frame(json.dumps(message).encode()),), "orphan", frozenset({INVALID_REQUEST}))
    if variant == "method_type":
        method = draw(st.one_of(st.none(), INT, st.lists(st.text(max_size=3), max_size=2)))
        return Case(
            "envelope_method_type",
            ({"jsonrpc": "2.0", "id": ASSIGN, "method": method},),
            "error",
            frozenset({INVALID_REQUEST}),
        )
    if variant == "params_scalar":
        params = draw(st.one_of(st.booleans(), INT, st.text(max_size=5)))
        return Case(
            "envelope_params_scalar", (_request("textDocument/hover", params),), "error", frozenset({INVALID_PARAMS})
        )
    if variant == "batch":
        batch = [_notification("$/setTrace", {"value": "off"}), {"jsonrpc": "2.0", "id": 1, "method": "shutdown"}]
        return Case("envelope_batch", (frame(json.dumps(batch).encode()),), "orphan", frozenset({INVALID_REQUEST}))
    return Case("envelope_empty", (frame(b"{}"),), "orphan", frozenset({INVALID_REQUEST}))


@st.composite
def unknown_method(draw) -> Case:
    name = draw(
        st.one_of(st.text(CHARS, max_size=30), st.sampled_from(["$/unknown", "textDocument/foo", "initialise"]))
    )
    known = set(POSITION_REQUESTS + DOCUMENT_REQUESTS + NOTIFICATIONS) | {
        "initialize",
        "initialized",
        "shutdown",
        "exit",
        "workspace/executeCommand",
        "workspace/didChangeWorkspaceFolders",
        "window/workDoneProgress/cancel",
        "notebookDocument/didOpen",
        "notebookDocument/didChange",
        "notebookDocument/didClose",
        "textDocument/willSave",
        "textDocument/willSaveWaitUntil",
        "$/progress",
    }
    if name in known:
        name = name + "-x"
    params = draw(JSON)
    if draw(st.booleans()):
        return Case("unknown_request", (_request(name, params),), "error", frozenset({NO_METHOD, INVALID_PARAMS}))
    return Case("unknown_notification", (_notification(name, params),), "nothing")


def wrong_params(world: World):
    @st.composite
    def build(draw) -> Case:
        """Known methods with params of any shape: a result, or a refusal; never an internal error."""
        method = draw(st.sampled_from(POSITION_REQUESTS + DOCUMENT_REQUESTS + ("workspace/executeCommand",)))
        params = draw(st.one_of(JSON, st.fixed_dictionaries({"textDocument": JSON, "position": JSON})))
        return Case(f"params {method}", (_request(method, params),), "answer", REFUSALS)

    @st.composite
    def notification(draw) -> Case:
        method = draw(st.sampled_from(NOTIFICATIONS))
        return Case(f"params {method}", (_notification(method, draw(JSON)),), "nothing")

    return st.one_of(build(), notification())


def positions(world: World):
    @st.composite
    def build(draw) -> Case:
        """Well-shaped requests at any position of any URI: out of range, inside a surrogate pair."""
        method = draw(st.sampled_from(POSITION_REQUESTS + DOCUMENT_REQUESTS))
        document = {"uri": _uri(draw, world)}
        params: dict = {"textDocument": document}
        if method in POSITION_REQUESTS:
            params["position"] = _position(draw)
        if method == "textDocument/references":
            params["context"] = {"includeDeclaration": draw(st.booleans())}
        if method == "textDocument/rename":
            params["newName"] = draw(st.one_of(st.text(CHARS, max_size=12), st.sampled_from(["x", "def", "a b", ""])))
        if method == "textDocument/inlineCompletion":
            params["context"] = {"triggerKind": draw(st.sampled_from([1, 2]))}
        if method == "textDocument/codeAction":
            params["range"] = _range(draw)
            params["context"] = {"diagnostics": []}
        return Case(f"position {method}", (_request(method, params),), "answer", REFUSALS)

    @st.composite
    def command(draw) -> Case:
        name = draw(st.sampled_from(COMMANDS))
        arguments = draw(
            st.one_of(
                st.none(),
                st.lists(st.one_of(JSON, st.just(_uri(draw, world))), max_size=3),
                st.just([_uri(draw, world), _position(draw)]),
            )
        )
        return Case(
            f"command {name}",
            (_request("workspace/executeCommand", {"command": name, "arguments": arguments}),),
            "answer",
            REFUSALS,
        )

    return st.one_of(build(), command())


def documents(world: World, max_text: int = 2_000):
    """didOpen / didChange / didClose with any text and any range, huge documents included."""
    huge = st.integers(100_000, max(100_000, max_text)).map(lambda n: ("x = 1  # 😀\n" * (n // 12 + 1))[:n])
    text = st.one_of(TEXT, TEXT, TEXT, TEXT, huge) if max_text >= 100_000 else TEXT  # huge: about 1 in 5

    @st.composite
    def build(draw) -> Case:
        uri = draw(st.sampled_from(world.uris))
        language = draw(st.sampled_from(["python", "javascript", "typescript", "go", "rust", "java", "c", "cpp", "x"]))
        version = draw(INT)
        action = draw(st.sampled_from(["open", "change", "change_whole", "close", "open_change"]))
        opening = _notification(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": version, "text": draw(text)}},
        )
        changes = draw(
            st.lists(
                st.one_of(
                    st.fixed_dictionaries({"range": RANGE, "text": TEXT}),
                    st.fixed_dictionaries({"text": text}),
                ),
                min_size=1,
                max_size=4,
            )
        )
        changing = _notification(
            "textDocument/didChange", {"textDocument": {"uri": uri, "version": draw(INT)}, "contentChanges": changes}
        )
        closing = _notification("textDocument/didClose", {"textDocument": {"uri": uri}})
        frames = {
            "open": (opening,),
            "change": (changing,),
            "change_whole": (changing,),
            "close": (closing,),
            "open_change": (opening, changing),
        }[action]
        count = sum(1 for f in frames if f["method"] == "textDocument/didOpen") + sum(
            1
            for f in frames
            if f["method"] == "textDocument/didChange"
            for c in f["params"]["contentChanges"]
            if "range" not in c
        )
        return Case(f"document {action}", frames, "nothing", documents=count)

    return build()


def cancels():
    ids = st.one_of(INT, st.text(max_size=8), st.none(), st.floats(), st.lists(INT, max_size=2))
    return ids.map(lambda i: Case("cancel unknown id", (_notification("$/cancelRequest", {"id": i}),), "nothing"))


def cases(world: World, max_text: int = 2_000):
    """Every kind of case, weighted towards the ones that reach our handlers."""
    return st.one_of(
        bad_json(),
        bad_framing(),
        bad_envelope(),
        unknown_method(),
        wrong_params(world),
        positions(world),
        positions(world),
        documents(world, max_text),
        documents(world, max_text),
        cancels(),
    )
