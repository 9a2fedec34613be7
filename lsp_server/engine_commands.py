"""`wholerepo engine ...`: serve models. `serve` runs the local engine as an OpenAI-compatible server, `vllm`
launches vLLM; both print the `openai` backend settings that reach what they serve.

Registered by the CLI with `add_engine_command(commands)`; each subcommand is a few lines around agent/.
"""

from __future__ import annotations

import argparse
import json
import sys

from .arguments import port_number, positive_int
from .vllm_command import add_vllm_command


def add_engine_command(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    engine = commands.add_parser("engine", help="serve models: the local engine over HTTP, or vLLM")
    subcommands = engine.add_subparsers(dest="engine_command", required=True, metavar="{serve,vllm}")
    add_serve_command(subcommands)
    add_vllm_command(subcommands)
    return engine


def add_serve_command(subcommands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    serve = subcommands.add_parser(
        "serve",
        help="the local engine as an OpenAI-compatible HTTP server",
        description="Serve the embedded model on /v1/models, /v1/completions and /v1/chat/completions.",
    )
    option = serve.add_argument
    option("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    option("--port", type=port_number, default=8000, help="default 8000; 0 picks a free port")
    model = serve.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", metavar="DIR", help="a model folder (default: engine/weights/default)")
    model.add_argument("--random-init", metavar="PRESET", help="untrained weights of a preset: plumbing tests only")
    option("--tokenizer", metavar="PATH", help="tokenizer.json for --random-init (a checkpoint carries its own)")
    option("--model-name", help="the name clients ask for (default: the checkpoint folder's name)")
    option("--device", help="cpu, cuda, cuda:1... (default: CUDA when present)")
    option("--dtype", choices=("float32", "bfloat16", "float16"), help="default: bfloat16 on CUDA, float32 on CPU")
    option("--max-context", type=positive_int, metavar="N", help="cap the context window (KV cache) at N tokens")
    serve.set_defaults(run=run_serve_command)
    return serve


def run_serve_command(args: argparse.Namespace) -> int:
    from agent.engine_server import EngineServeError, LocalSettings, default_checkpoint, serve_local_engine

    if args.random_init and not args.tokenizer:
        print("wholerepo: --random-init needs --tokenizer PATH (a tokenizer.json)", file=sys.stderr)
        return 2
    checkpoint = args.checkpoint
    if not checkpoint and not args.random_init:
        checkpoint = default_checkpoint()
        if checkpoint is None:
            print("wholerepo: no trained model yet: pass --checkpoint DIR (or --random-init PRESET --tokenizer "
                  "PATH for plumbing tests)", file=sys.stderr)  # fmt: skip
            return 2
    settings = LocalSettings(
        checkpoint=checkpoint,
        random_init=args.random_init,
        tokenizer=args.tokenizer,
        device=args.device,
        dtype=args.dtype,
        max_context=args.max_context,
    )

    def ready(url: str, model: str, notes: tuple[str, ...]) -> None:
        print(f"serving {model} at {url} (Ctrl-C stops it)", flush=True)
        for note in notes:
            print(f"note: {note}", flush=True)
        backend = {"backend": "openai", "base_url": url, "model": model, "template": "wholerepo"}
        print("openai backend settings: " + json.dumps(backend), flush=True)

    try:
        serve_local_engine(settings, args.host, args.port, model_name=args.model_name, on_ready=ready)
    except EngineServeError as error:
        print(f"wholerepo: {error}", file=sys.stderr)
        return 1
    return 0

