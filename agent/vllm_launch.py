"""Serving a model with vLLM, for the CLI: the engine's launcher, named here so lsp_server imports only agent."""

from engine import VllmLaunchError, VllmLaunchSettings, VllmServer, find_vllm, launch_vllm, vllm_argv

__all__ = ["VllmLaunchError", "VllmLaunchSettings", "VllmServer", "find_vllm", "launch_vllm", "vllm_argv"]
