"""`wholerepo engine vllm`: serve a model with vLLM and print how wholerepo's `openai` backend reaches it.

Registered by the `engine` command group: `add_vllm_command(engine_subparsers)`. Runs until Ctrl-C,
then shuts vLLM down. Arguments after `--` go to `vllm serve` unchanged.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys

from agent.vllm_launch import VllmLaunchError, VllmLaunchSettings, find_vllm, launch_vllm, vllm_argv

from .arguments import port_number, positive_int

SETTINGS_SHOWN = ("tokenizer", "context_window", "api_key_env")  # openai backend settings printed when set


def add_vllm_command(engine_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    command = engine_subparsers.add_parser(
        "vllm",
        help="serve a model with vLLM (prefix caching and chunked prefill on) for the openai backend",
        description=__doc__.splitlines()[0],
        epilog="example: wholerepo engine vllm --model Qwen/Qwen2.5-Coder-7B --max-model-len 131072 "
        "-- --kv-cache-dtype fp8",
    )
    add_vllm_arguments(command)
    command.set_defaults(run=run_vllm_command)
    return command


def add_vllm_arguments(command: argparse.ArgumentParser) -> None:
    option = command.add_argument
    option("--model", required=True, help="Hugging Face id or local folder (HF format)")
    option("--served-model-name", help="the name clients ask for (default: --model)")
    option("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for other machines)")
    option("--port", type=port_number, default=8000, help="default 8000; 0 picks a free port")
    option("--max-model-len", type=positive_int, metavar="N", help="context window in tokens")
    option("--tensor-parallel-size", "-tp", type=positive_int, default=1, metavar="N", help="GPUs per model replica")
    option("--pipeline-parallel-size", "-pp", type=positive_int, default=1, metavar="N", help="pipeline stages")
    option("--gpu-memory-utilization", type=float, metavar="F", help="fraction of each GPU vLLM may use")
    option("--max-num-batched-tokens", type=positive_int, metavar="N", help="tokens per step (prefill chunk size)")
    option("--dtype", help="auto, bfloat16, float16 or float32")
    option("--no-prefix-caching", dest="prefix_caching", action="store_false", help="turn prefix caching off")
    option("--no-chunked-prefill", dest="chunked_prefill", action="store_false", help="turn chunked prefill off")
    option("--api-key-env", metavar="NAME", help="environment variable holding the API key clients must send")
    option("--timeout", type=float, default=900.0, help="seconds to wait for the server to be ready (default 900)")
    option("--print-command", action="store_true", help="print the `vllm serve` command line and exit")
    option("extra", nargs="*", metavar="-- VLLM_ARGS", help="passed to `vllm serve` as they are")


def settings_from_args(args: argparse.Namespace) -> VllmLaunchSettings:
    return VllmLaunchSettings(
        model=args.model,
        served_model_name=args.served_model_name,
        host=args.host,
        port=args.port,
        max_model_len=args.max_model_len,
        tensor_parallel_size=args.tensor_parallel_size,
        pipeline_parallel_size=args.pipeline_parallel_size,
        gpu_memory_utilization=args.gpu_memory_utilization,
        enable_prefix_caching=args.prefix_caching,
        enable_chunked_prefill=args.chunked_prefill,
        max_num_batched_tokens=args.max_num_batched_tokens,
        dtype=args.dtype,
        api_key_env=args.api_key_env,
        extra_args=tuple(args.extra),
    )


def run_vllm_command(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # A `kill` stops vLLM too rather than orphaning it; Ctrl-C is caught even where the shell that started us
    # ignored SIGINT (a background job), since vLLM runs in its own session and would otherwise be left behind.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    try:
        if args.print_command:
            print(shlex.join(vllm_argv(settings, find_vllm())))
            return 0
        print(f"wholerepo: starting vLLM for {settings.model} (this can take minutes)", file=sys.stderr)
        server = launch_vllm(settings, timeout=args.timeout, echo=sys.stderr)
    except VllmLaunchError as error:
        print(f"wholerepo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("wholerepo: interrupted", file=sys.stderr)
        return 130
    openai = server.openai
    backend = {"backend": "openai", "base_url": openai.api_url, "model": openai.model}
    backend |= {key: value for key in SETTINGS_SHOWN if (value := getattr(openai, key))}
    print(f"vLLM is serving {openai.model} at {openai.api_url} (Ctrl-C stops it)", flush=True)
    print("openai backend settings: " + json.dumps(backend), flush=True)
    try:
        code = server.process.wait()
    except KeyboardInterrupt:
        server.stop()
        return 0
    print(f"wholerepo: vllm serve exited with status {code}", file=sys.stderr)
    return code or 1


def main(argv: list[str] | None = None) -> int:
    """Run this command alone: `python -m lsp_server.vllm_command --model M ...`."""
    parser = argparse.ArgumentParser(prog="wholerepo engine vllm", description=__doc__.splitlines()[0])
    add_vllm_arguments(parser)
    args = parser.parse_args(argv)
    return run_vllm_command(args)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
