"""`make test-vllm`: serve a tiny HF model with `wholerepo engine vllm`, run tests/vllm against it, stop it.

Run in the vLLM venv: `python -m tests.vllm.run [pytest args]`. The steps, each reported on stdout:
1. write a tiny random Qwen2 model folder (tiny_model.py);
2. start `wholerepo engine vllm --model FOLDER ...` and wait for its "openai backend settings" line;
3. check that those settings are what a client needs (URL, model, tokenizer, window) and that /v1/models agrees;
4. run pytest on tests/vllm with the server named in the environment (conftest.py);
5. press Ctrl-C (SIGINT) on the CLI: it must exit 0 and take vLLM down with it (the port closes).
The exit status is pytest's, or 1 when the server did not start or did not stop cleanly.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from engine.backends.vllm_launch import free_port

from .conftest import MODEL_ENV, TOKENIZER_ENV, URL_ENV, WINDOW_ENV
from .tiny_model import REPO, make_tiny_model

START_TIMEOUT = 900.0  # seconds; a cold start on two busy cores took a few minutes
STOP_TIMEOUT = 120.0
SERVED_NAME = "tiny-coder"
WINDOW = 2048
# A small KV cache (GiB) leaves the machine's memory alone; eager mode skips torch.compile at start;
# prompt token details make vLLM report cached prompt tokens in `usage`.
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}
VLLM_ARGS = ("--enforce-eager", "--enable-prompt-tokens-details")
SETTINGS_LINE = "openai backend settings: "


def step(message: str) -> None:
    print(f"[test-vllm] {message}", flush=True)


def wholerepo_cli() -> list[str]:
    """The installed `wholerepo` script beside this Python (the venv's), as a user would run it."""
    script = Path(sys.executable).with_name("wholerepo")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lsp_server.cli"]


def start_server(model: Path, port: int, log: Path) -> tuple[subprocess.Popen, dict]:
    argv = [
        *wholerepo_cli(), "engine", "vllm", "--model", str(model), "--served-model-name", SERVED_NAME,
        "--port", str(port), "--max-model-len", str(WINDOW), "--", *VLLM_ARGS,
    ]  # fmt: skip
    step("starting: " + " ".join(argv))
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env={**os.environ, **VLLM_ENV}, cwd=REPO
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    started, deadline = time.monotonic(), time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        print(line, end="", flush=True)
        if line.startswith(SETTINGS_LINE):
            step(f"ready after {time.monotonic() - started:.0f} s")
            return process, json.loads(line.removeprefix(SETTINGS_LINE))
    tail = log.read_text(errors="replace")[-4000:]
    stop(process)
    raise SystemExit(f"[test-vllm] the server did not start (status {process.poll()}); its log ends:\n{tail}")


def check_settings(settings: dict, model: Path, port: int) -> None:
    expected = {
        "backend": "openai",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "model": SERVED_NAME,
        "tokenizer": str(model / "tokenizer.json"),
        "context_window": WINDOW,
    }
    if settings != expected:
        raise SystemExit(f"[test-vllm] printed settings {settings}, expected {expected}")
    served = httpx.get(settings["base_url"] + "/models", timeout=10).json()["data"]
    if [(entry["id"], entry.get("max_model_len")) for entry in served] != [(SERVED_NAME, WINDOW)]:
        raise SystemExit(f"[test-vllm] /v1/models lists {served}")


def stop(process: subprocess.Popen) -> int:
    """Ctrl-C, as a user would; the CLI must shut vLLM down and exit 0. If it does not, SIGTERM (the CLI
    stops vLLM on that too) and then SIGKILL, so no server is left behind; the status is then -1."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    for signum in (signal.SIGTERM, signal.SIGKILL):
        process.send_signal(signum)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    return -1


def port_closed(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)
    except httpx.ConnectError:
        return True
    return False


def main(pytest_args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="wholerepo-vllm-") as scratch:
        model = make_tiny_model(Path(scratch, "tiny-qwen"))
        step(f"tiny model written to {model}")
        port = free_port()
        log = Path(scratch, "vllm.log")
        process, settings = start_server(model, port, log)
        try:
            check_settings(settings, model, port)
            step("the printed settings and /v1/models agree; running tests/vllm")
            env = {
                URL_ENV: f"http://127.0.0.1:{port}",
                MODEL_ENV: SERVED_NAME,
                TOKENIZER_ENV: settings["tokenizer"],
                WINDOW_ENV: str(WINDOW),
            }
            status = subprocess.call(
                [sys.executable, "-m", "pytest", "tests/vllm", "-v", *pytest_args], env={**os.environ, **env}, cwd=REPO
            )
        finally:
            code = stop(process)
        step(f"Ctrl-C: the CLI exited with status {code}; port {port} closed: {port_closed(port)}")
        if code != 0 or not port_closed(port):
            print(log.read_text(errors="replace")[-4000:])
            return status or 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
