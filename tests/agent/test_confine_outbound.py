"""Where prompts go: a loopback URL behind an HTTP proxy leaves the machine (httpx honours HTTP_PROXY for
127.0.0.1 too), so it is redacted like a remote one; `redact: true` forces it; the exclusion report says
where prompts go and what the last request to each endpoint had cut."""

from __future__ import annotations

import pytest

from agent import EngineSettings, Workspace, WorkspaceSettings, backend_from_settings, exclusion_report
from agent.privacy import OutboundGuard, OutboundLog, OutboundReport, proxy_for, stays_on_this_machine
from engine import FimRequest
from tests.engine.openai_stub_server import Reply, StubServer, completion_chunk

TOKEN = "ghp_" + "Pr0xyCanary" * 4


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    return monkeypatch


def test_a_proxy_in_the_environment_takes_loopback_requests_off_the_machine(no_proxy_env):
    url = "http://127.0.0.1:8000/v1"
    assert stays_on_this_machine(url) and proxy_for(url) is None
    no_proxy_env.setenv("HTTP_PROXY", "http://10.1.2.3:3128")
    assert proxy_for(url) == "http://10.1.2.3:3128" and not stays_on_this_machine(url)
    assert proxy_for("https://127.0.0.1/v1") is None  # HTTPS_PROXY is not set
    no_proxy_env.setenv("NO_PROXY", "example.com, 127.0.0.1")
    assert stays_on_this_machine(url)
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1:9999")  # not understood: taken as not bypassed
    assert not stays_on_this_machine(url)


def test_loopback_endpoints_are_guarded_behind_a_proxy_or_when_asked(no_proxy_env):
    plain = EngineSettings(backend="openai", url="http://127.0.0.1:8000/v1", model="m")
    assert not isinstance(backend_from_settings(plain), OutboundGuard)
    forced = EngineSettings(backend="openai", url="http://127.0.0.1:8000/v1", model="m", redact=True)
    assert isinstance(backend_from_settings(forced), OutboundGuard)
    no_proxy_env.setenv("http_proxy", "http://10.1.2.3:3128")
    assert isinstance(backend_from_settings(plain), OutboundGuard)


@pytest.mark.asyncio
async def test_what_reaches_the_proxy_is_redacted(no_proxy_env):
    """A real recording server plays the proxy: httpx sends it the loopback endpoint's request in absolute
    form, and the token in the prompt arrives cut."""
    async with StubServer() as proxy:
        endpoint = "http://localhost:9/v1"
        proxy.script(f"{endpoint}/completions", Reply.sse(completion_chunk("pass"), completion_chunk("", "stop")))
        no_proxy_env.setenv("HTTP_PROXY", proxy.url.removesuffix("/v1"))
        backend = backend_from_settings(EngineSettings(backend="openai", url=endpoint, model="m", tokenizer="estimate"))
        try:
            text = await backend.complete_fim(FimRequest(prefix=f'GITHUB_TOKEN = "{TOKEN}"\ndef f():\n    ', suffix=""))
        finally:
            await backend.aclose()
        paths = [request.path for request in proxy.requests]
        wire = repr([request.body for request in proxy.requests])
    assert text == "pass" and paths == [f"{endpoint}/completions"]
    assert TOKEN not in wire and "<redacted:github-token>" in wire


def test_the_exclusion_report_says_where_prompts_go_and_what_was_cut(tmp_path, no_proxy_env):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("x = 1\n")
    (root / ".env").write_text("TOKEN=abcdefgh123\n")
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "ix")) as ws:
        local = exclusion_report(ws, EngineSettings())
        remote = exclusion_report(ws, EngineSettings(backend="openai", url="https://api.example.com/v1", model="m"))
        loopback = exclusion_report(ws, EngineSettings(backend="openai", url="http://127.0.0.1:8000/v1", model="m"))
    assert local["destination"] == {
        "backend": "local",
        "url": None,
        "where": "nowhere: the model runs in this process",
        "redacted": False,
    }
    assert remote["destination"]["redacted"] and "another machine" in remote["destination"]["where"]
    assert not loopback["destination"]["redacted"] and "this machine" in loopback["destination"]["where"]
    assert local["excluded"] == [{"path": ".env", "reason": "credential file"}]
    assert "`.env` — credential file" in local["markdown"]


def test_the_outbound_log_keeps_the_last_request_per_endpoint_newest_last():
    log = OutboundLog()
    for endpoint, cut in (("https://a.example", 1), ("https://b.example", 2), ("https://a.example", 3)):
        log.record(OutboundReport(endpoint, 0.0, {"jwt": cut}))
    assert [(r.endpoint, r.total) for r in log.reports()] == [("https://b.example", 2), ("https://a.example", 3)]
