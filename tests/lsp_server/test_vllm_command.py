"""`wholerepo engine vllm`: arguments to launch settings, and its errors. Serving for real: tests/vllm."""

from __future__ import annotations

import argparse

import pytest

from engine.backends import vllm_launch
from lsp_server import vllm_command
from lsp_server.vllm_command import add_vllm_command, main, settings_from_args


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="wholerepo")
    engine = parser.add_subparsers(dest="command", required=True).add_parser("engine")
    add_vllm_command(engine.add_subparsers(dest="engine_command", required=True))
    return parser.parse_args(["engine", "vllm", *argv])


def test_arguments_become_launch_settings_with_extra_vllm_arguments_after_double_dash():
    args = parse(
        ["--model", "deepseek-ai/DeepSeek-V3.2", "--port", "9000", "--max-model-len", "131072", "-tp", "8",
         "--pipeline-parallel-size", "2", "--no-chunked-prefill",
         "--", "--kv-cache-dtype", "fp8", "--trust-remote-code"]
    )  # fmt: skip
    settings = settings_from_args(args)
    assert args.run is vllm_command.run_vllm_command
    assert (settings.model, settings.port, settings.max_model_len) == ("deepseek-ai/DeepSeek-V3.2", 9000, 131072)
    assert (settings.tensor_parallel_size, settings.pipeline_parallel_size) == (8, 2)
    assert settings.enable_prefix_caching and not settings.enable_chunked_prefill
    assert settings.extra_args == ("--kv-cache-dtype", "fp8", "--trust-remote-code")


def test_defaults():
    settings = settings_from_args(parse(["--model", "m"]))
    assert (settings.host, settings.port, settings.tensor_parallel_size) == ("127.0.0.1", 8000, 1)
    assert settings.enable_prefix_caching and settings.enable_chunked_prefill and settings.extra_args == ()


@pytest.mark.parametrize("bad", [["--port", "70000"], ["--max-model-len", "0"], ["-tp", "two"]])
def test_bad_numbers_are_usage_errors(bad, capsys):
    with pytest.raises(SystemExit) as caught:
        parse(["--model", "m", *bad])
    assert caught.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_print_command_shows_the_vllm_serve_line(monkeypatch, capsys):
    monkeypatch.setattr(vllm_command, "find_vllm", lambda: ("vllm",))
    assert main(["--model", "m", "--port", "9000", "--print-command", "--", "--enforce-eager"]) == 0
    assert capsys.readouterr().out.strip() == (
        "vllm serve m --host 127.0.0.1 --port 9000 --enable-prefix-caching --enable-chunked-prefill --enforce-eager"
    )


def test_without_vllm_one_line_says_how_to_install(monkeypatch, capsys):
    def missing():
        raise vllm_launch.VllmLaunchError(f"vLLM is not installed: {vllm_launch.INSTALL_HINT}")

    monkeypatch.setattr(vllm_launch, "find_vllm", missing)
    assert main(["--model", "m"]) == 1
    err = capsys.readouterr().err
    assert "wholerepo: vLLM is not installed: install the optional extra: pip install 'wholerepo[vllm]'" in err
    assert "Traceback" not in err
