"""Secrets never reach a remote model: redaction rules, endpoints, and the guard on a real HTTP round trip."""

from __future__ import annotations

import json

import pytest
import pytest_asyncio

from agent.privacy import OutboundGuard, is_loopback_url, is_sensitive_path, redact
from engine import ChatMessage, ChatRequest, FimRequest, OpenAIBackend, OpenAISettings
from tests.engine.openai_stub_server import DEFAULT_MODEL, Reply, StubServer, chat_chunk, completion_chunk

PEM_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
PEM = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----"
CANARIES = {
    "aws-access-key-id": "AKIAZZCANARY0000ABCD",
    "github-token": "ghp_" + "C4nary" * 6,
    "openai-key": "sk-proj-canaryCANARYcanary0123456789",
    "slack-token": "xoxb-1234567890-canary-token",
    "google-api-key": "AIza" + "C" * 35,
}


def planted_source() -> str:
    lines = [f'{kind.upper().replace("-", "_")} = "{secret}"' for kind, secret in CANARIES.items()]
    return "\n".join(["import os", *lines, f'KEY = """{PEM}"""', "DB_PASSWORD = 'p4ssw0rd-canary'", "def f():", ""])


def test_each_kind_of_secret_is_cut_and_named():
    result = redact(planted_source())
    for secret in [*CANARIES.values(), "p4ssw0rd-canary", PEM_BODY]:
        assert secret not in result.text
    kinds = {item.kind for item in result.redactions}
    assert set(CANARIES) | {"private-key", "assigned-secret"} <= kinds
    assert "import os" in result.text and "def f():" in result.text


def test_code_that_only_names_secrets_is_left_alone():
    code = 'token_type = "bearer_token"\npassword = form.cleaned_data["password"]\nPASSWORD=settings.password\n'
    assert redact(code).text == code
    assert redact(code).redactions == ()


def test_env_style_assignments_are_cut_but_placeholders_are_not():
    text = "export API_TOKEN=9f8e7d6c5b4a\nSECRET_KEY=${SECRET_KEY}\nDB_PASSWORD=changeme\n"
    result = redact(text)
    assert "9f8e7d6c5b4a" not in result.text
    assert "${SECRET_KEY}" in result.text and "changeme" in result.text


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:11434", True),
        ("http://[::1]:8000", True),
        ("https://api.deepseek.com", False),
        ("http://10.0.0.5:8000", False),
        ("http://127.0.0.1.evil.example/v1", False),
    ],
)
def test_only_this_machine_counts_as_loopback(url, loopback):
    assert is_loopback_url(url) is loopback


def test_credential_files_are_sensitive_by_name():
    assert all(is_sensitive_path(p) for p in (".env", "config/.env.production", "keys/id_ed25519", "server.pem"))
    assert not any(is_sensitive_path(p) for p in ("env.py", "src/keys.py", "README.md"))


@pytest_asyncio.fixture
async def server():
    async with StubServer() as stub:
        yield stub


@pytest.mark.asyncio
async def test_no_secret_byte_reaches_the_wire_through_the_guard(server):
    server.script("/v1/completions", Reply.sse(completion_chunk("x = 1"), completion_chunk("", "stop")))
    server.script("/v1/chat/completions", Reply.sse(chat_chunk("ok"), chat_chunk(None, finish="stop")))
    inner = OpenAIBackend(OpenAISettings(base_url=server.url, model=DEFAULT_MODEL))
    guard = OutboundGuard(inner, endpoint=server.url)
    try:
        source = planted_source()
        guard.note_excluded([".env"])
        assert await guard.complete_fim(FimRequest(prefix=source, suffix=source)) == "x = 1"
        assert guard.last_report is not None and guard.last_report.excluded_paths == (".env",)
        assert guard.last_report.redacted["assigned-secret"] == 2
        messages = (ChatMessage("system", "You refactor code."), ChatMessage("user", source))
        text, _ = await guard.complete_chat(ChatRequest(messages=messages))
        assert text == "ok"
    finally:
        await guard.aclose()
    wire = json.dumps([request.body for request in server.requests])
    assert "def f():" in wire  # the code itself did go out
    for secret in [*CANARIES.values(), "p4ssw0rd-canary", PEM_BODY]:
        assert secret not in wire


def test_remote_openai_endpoints_are_guarded_and_loopback_ones_are_not():
    from agent import EngineSettings, backend_from_settings

    remote = backend_from_settings(EngineSettings(backend="openai", url="https://api.deepseek.com/v1", model="m"))
    local = backend_from_settings(EngineSettings(backend="openai", url="http://127.0.0.1:8000/v1", model="m"))
    assert isinstance(remote, OutboundGuard) and remote.endpoint == "https://api.deepseek.com/v1"
    assert not isinstance(local, OutboundGuard)
