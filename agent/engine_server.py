"""Serving the local engine over HTTP, for the CLI: the engine's server, named here so lsp_server imports only
agent. Importing this module loads torch (the model); the CLI imports it only for `wholerepo engine serve`.
"""

from __future__ import annotations

from pathlib import Path

from engine import EngineServeError, LocalSettings, serve_local

# Where the trained default model lands (a checkpoint folder: config.json, model.safetensors, tokenizer.json).
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "engine" / "weights" / "default"

__all__ = ["DEFAULT_CHECKPOINT", "EngineServeError", "LocalSettings", "default_checkpoint", "serve_local_engine"]


def default_checkpoint() -> str | None:
    """The shipped model's folder when it is there (it holds weights, not only a README)."""
    return str(DEFAULT_CHECKPOINT) if (DEFAULT_CHECKPOINT / "config.json").is_file() else None


serve_local_engine = serve_local
