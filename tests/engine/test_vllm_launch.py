"""The `vllm serve` command line, and the launcher against a stand-in CLI (fake_vllm.py beside this): no vLLM needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.backends import vllm_launch
from engine.backends.vllm_launch import (
    INSTALL_HINT,
    VllmLaunchError,
    VllmLaunchSettings,
    find_vllm,
    launch_vllm,
    vllm_argv,
)

FAKE = (sys.executable, str(Path(__file__).with_name("fake_vllm.py")))


def pairs(argv: list[str]) -> dict[str, str]:
    """Each `--flag value` of a command line (flags without a value are left out)."""
    return {flag: value for flag, value in zip(argv, argv[1:], strict=False) if flag[0] == "-" and value[0] != "-"}


def test_defaults_serve_on_loopback_with_prefix_caching_and_chunked_prefill():
    argv = vllm_argv(VllmLaunchSettings(model="Qwen/Qwen2.5-Coder-7B"))
    assert argv == [
        "vllm", "serve", "Qwen/Qwen2.5-Coder-7B", "--host", "127.0.0.1", "--port", "8000",
        "--enable-prefix-caching", "--enable-chunked-prefill",
    ]  # fmt: skip


def test_long_context_multi_gpu_settings():
    settings = VllmLaunchSettings(
        model="/models/DeepSeek-V3.2",
        served_model_name="deepseek-v3.2",
        host="0.0.0.0",
        port=30001,
        max_model_len=1_048_576,
        tensor_parallel_size=8,
        pipeline_parallel_size=2,
        gpu_memory_utilization=0.92,
        max_num_batched_tokens=8192,
        dtype="bfloat16",
        extra_args=("--kv-cache-dtype", "fp8", "--trust-remote-code"),
    )
    argv = vllm_argv(settings)
    assert argv[:3] == ["vllm", "serve", "/models/DeepSeek-V3.2"]
    assert pairs(argv) == {
        "--host": "0.0.0.0",
        "--port": "30001",
        "--served-model-name": "deepseek-v3.2",
        "--max-model-len": "1048576",
        "--tensor-parallel-size": "8",
        "--pipeline-parallel-size": "2",
        "--gpu-memory-utilization": "0.92",
        "--max-num-batched-tokens": "8192",
        "--dtype": "bfloat16",
        "--kv-cache-dtype": "fp8",
    }
    assert "--enable-prefix-caching" in argv and "--enable-chunked-prefill" in argv
    assert argv[-3:] == ["--kv-cache-dtype", "fp8", "--trust-remote-code"]  # extra arguments come last


def test_prefix_caching_and_chunked_prefill_can_be_turned_off():
    argv = vllm_argv(VllmLaunchSettings("m", enable_prefix_caching=False, enable_chunked_prefill=False))
    assert "--no-enable-prefix-caching" in argv and "--no-enable-chunked-prefill" in argv
    assert "--enable-prefix-caching" not in argv and "--enable-chunked-prefill" not in argv


def test_the_command_prefix_is_kept():
    assert vllm_argv(VllmLaunchSettings("m"), ("python", "-m", "vllm.entrypoints.cli.main"))[:4] == [
        "python", "-m", "vllm.entrypoints.cli.main", "serve",
    ]  # fmt: skip


def test_without_vllm_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(vllm_launch, "_installed", lambda distribution: False)  # as here, even in a vLLM venv
    monkeypatch.setattr(vllm_launch.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VllmLaunchError, match=r"pip install 'wholerepo\[vllm\]'"):
        find_vllm()
    with pytest.raises(VllmLaunchError, match="not installed"):
        launch_vllm(VllmLaunchSettings("m"))


def test_a_command_that_cannot_start_names_the_install_hint(tmp_path):
    with pytest.raises(VllmLaunchError) as caught:
        launch_vllm(VllmLaunchSettings("m", port=0), command=(str(tmp_path / "no-such-vllm"),))
    assert INSTALL_HINT in str(caught.value)


def test_a_server_that_dies_reports_its_status_and_last_lines(monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_MODE", "die")
    with pytest.raises(VllmLaunchError) as caught:
        launch_vllm(VllmLaunchSettings("m", port=0), command=FAKE, timeout=30)
    message = str(caught.value)
    assert "exited with status 3" in message
    assert "ValueError: cannot load the model" in message and "log line 59" in message
    assert "log line 5\n" not in message  # only the tail


def test_a_server_that_never_answers_times_out_and_is_stopped(monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_MODE", "hang")
    started = []
    real_popen = vllm_launch.subprocess.Popen

    def popen(*args, **options):
        started.append(real_popen(*args, **options))
        return started[-1]

    monkeypatch.setattr(vllm_launch.subprocess, "Popen", popen)
    with pytest.raises(VllmLaunchError, match=r"not ready at http://127\.0\.0\.1:\d+ within 1 s"):
        launch_vllm(VllmLaunchSettings("m", port=0), command=FAKE, timeout=1)
    assert started[0].poll() is not None


def test_launch_returns_a_handle_and_openai_settings(tmp_path):
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "tokenizer.json").write_text("{}")
    settings = VllmLaunchSettings(str(model), served_model_name="tiny", port=0, max_model_len=2048)
    with launch_vllm(settings, command=FAKE, timeout=30) as server:
        assert server.process.poll() is None
        assert server.url.startswith("http://127.0.0.1:") and server.settings.port != 0
        assert server.openai.base_url == server.url and server.openai.api_url == server.url + "/v1"
        assert server.openai.model == "tiny"
        assert server.openai.context_window == 2048
        assert server.openai.tokenizer == str(model / "tokenizer.json")
        assert "fake vllm: serve" in server.output_tail()
    assert server.process.poll() is not None


def test_the_api_key_goes_to_vllm_by_environment_not_argv(monkeypatch):
    monkeypatch.setenv("MY_VLLM_KEY", "s3cret")
    settings = VllmLaunchSettings("m", port=0, api_key_env="MY_VLLM_KEY")
    with launch_vllm(settings, command=FAKE, timeout=30) as server:  # ready only if the key was sent back
        assert server.openai.api_key_env == "MY_VLLM_KEY"
        assert "s3cret" not in " ".join(server.process.args)
