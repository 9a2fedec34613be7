"""`wholerepo engine serve`: the real CLI in a subprocess serving a tiny random model, and its errors."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from lsp_server.cli import main
from tests.engine.test_decoder import build_tokenizer

WHOLEREPO = [sys.executable, "-m", "lsp_server.cli"]
START_TIMEOUT = 120.0  # seconds for torch to import and the model to load on a busy machine
SETTINGS_LINE = "openai backend settings: "


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    path.write_text(build_tokenizer().backend.to_str(), encoding="utf-8")
    return path


def test_serve_prints_the_settings_answers_and_stops_on_ctrl_c(tokenizer_json):
    argv = [*WHOLEREPO, "engine", "serve", "--random-init", "tiny", "--tokenizer", str(tokenizer_json), "--port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        seen = []
        while not (seen and seen[-1].startswith(SETTINGS_LINE)):
            try:
                seen.append(lines.get(timeout=START_TIMEOUT))
            except queue.Empty:
                pytest.fail(f"no settings line; stderr: {process.stderr.read() if process.poll() is not None else ''}")
        settings = json.loads(seen[-1].removeprefix(SETTINGS_LINE))
        assert settings["backend"] == "openai" and settings["model"] == "random-init"
        assert settings["template"] == "wholerepo" and settings["base_url"].startswith("http://127.0.0.1:")
        assert any("untrained random weights" in line for line in seen)  # never passed off as a real model
        models = httpx.get(settings["base_url"] + "/models", timeout=30).json()
        assert models["data"][0]["id"] == "random-init" and models["data"][0]["max_model_len"] == 128
        body = {"model": "random-init", "prompt": "def add(a, b):", "max_tokens": 3}
        reply = httpx.post(settings["base_url"] + "/completions", json=body, timeout=30).json()
        assert reply["usage"]["completion_tokens"] <= 3 and reply["choices"][0]["finish_reason"] in ("stop", "length")

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(settings["base_url"] + "/models", timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["engine", "serve", "--checkpoint", str(tmp_path / "nothing"), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"wholerepo: no checkpoint folder at {tmp_path / 'nothing'}"


def test_random_init_without_a_tokenizer_says_so(capsys):
    assert main(["engine", "serve", "--random-init", "tiny", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == "wholerepo: --random-init needs --tokenizer PATH (a tokenizer.json)"


def test_a_taken_port_is_one_line(tokenizer_json, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = ["engine", "serve", "--random-init", "tiny", "--tokenizer", str(tokenizer_json), "--port", str(port)]
        assert main(argv) == 1
    assert f"wholerepo: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_checkpoint_and_random_init_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["engine", "serve", "--checkpoint", "x", "--random-init", "tiny"])
    assert caught.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
