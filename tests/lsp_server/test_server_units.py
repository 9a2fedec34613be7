"""The server's small pure parts: settings parsing, wire-position conversion, adaptive debounce."""

from __future__ import annotations

from lsprotocol import types as t

from agent import Position
from lsp_server.debounce import TypingRhythm
from lsp_server.positions import column_to_agent, column_to_wire, position_to_agent
from lsp_server.settings import parse_settings

LINE = 'x = "é😀" + y'


def test_editor_options_map_onto_engine_completion_and_features():
    settings = parse_settings(
        {
            "backend": {"kind": "openai", "url": "http://127.0.0.1:8000/v1", "model": "m", "api_key_env": "KEY"},
            "budgets": {"context_tokens": 4096, "max_tokens": 32},
            "features": {"inline_completion": False, "codeLens": False, "review": True},
        },
        {"backend": {"model": "other"}},  # the workspace/configuration layer wins
    )
    assert (settings.engine.backend, settings.engine.url, settings.engine.model) == (
        "openai",
        "http://127.0.0.1:8000/v1",
        "other",
    )
    assert settings.engine.api_key_env == "KEY"
    assert (settings.completion.budget, settings.completion.max_tokens) == (4096, 32)
    assert not settings.enabled("inlineCompletion") and not settings.enabled("codeLens")
    assert settings.enabled("review") and settings.enabled("hover")
    assert settings.problems == ()


def test_bad_settings_are_reported_and_ignored():
    settings = parse_settings({"backend": {"kind": "gpt"}, "colour": 1, "features": {"teleport": True}})
    assert settings.engine.backend == "local"
    assert set(settings.problems) == {
        "unknown setting colour",
        "unknown feature teleport; known: inlineCompletion, completion, hover, codeLens, diagnostics, review, refactor",
        "unknown backend 'gpt'; using local",
    }


def test_columns_convert_per_encoding():
    plus = LINE.index("+")  # 9 code points in: é is 2 UTF-8 bytes, 😀 is 4 bytes and 2 UTF-16 units
    assert column_to_wire(LINE, plus, t.PositionEncodingKind.Utf16) == plus + 1
    assert column_to_wire(LINE, plus, t.PositionEncodingKind.Utf8) == plus + 1 + 3
    assert column_to_wire(LINE, plus, t.PositionEncodingKind.Utf32) == plus
    for encoding in (t.PositionEncodingKind.Utf8, t.PositionEncodingKind.Utf16, t.PositionEncodingKind.Utf32):
        for column in range(len(LINE) + 1):
            assert column_to_agent(LINE, column_to_wire(LINE, column, encoding), encoding) == column
    assert column_to_agent(LINE, 999, t.PositionEncodingKind.Utf16) == len(LINE)  # clamped to the line
    assert position_to_agent([LINE], t.Position(0, 8), t.PositionEncodingKind.Utf16) == Position(0, 7)


def test_debounce_follows_the_typing_rhythm():
    rhythm = TypingRhythm(min_ms=0, max_ms=250)
    assert rhythm.delay_s(now=0.0) == 0.0  # nothing learned yet: answer at once
    for n in range(10):
        rhythm.keystroke(now=n * 0.05)  # 50 ms between keys
    assert abs(rhythm.delay_s(now=0.45) - 0.075) < 1e-9  # 1.5 gaps after the last key
    assert rhythm.delay_s(now=0.60) == 0.0  # already paused long enough
    rhythm.keystroke(now=5.0)  # a pause is not a typing gap
    assert abs(rhythm.average_gap_s - 0.05) < 1e-9
    slow = TypingRhythm(max_ms=100)
    for n in range(5):
        slow.keystroke(now=n * 0.9)
    assert slow.delay_s(now=3.6) == 0.1  # capped


def test_serve_refuses_a_malformed_tcp_address(capsys):
    from lsp_server.cli import main

    assert main(["serve", "--tcp", "localhost:http"]) == 2
    assert "--tcp must be [HOST:]PORT, not 'localhost:http'" in capsys.readouterr().err
