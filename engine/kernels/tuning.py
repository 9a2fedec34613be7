"""Autotuning lists: every config on a GPU; only the first (the safe one) under Triton's CPU interpreter, where
timing means nothing, or with ``WHOLEREPO_KERNEL_TUNE=0`` (tests: many small shapes, each would compile them all)."""

from __future__ import annotations

import os

import triton


def tuned_configs(configs: list[triton.Config]) -> list[triton.Config]:
    single = os.environ.get("TRITON_INTERPRET") == "1" or os.environ.get("WHOLEREPO_KERNEL_TUNE") == "0"
    return configs[:1] if single else configs
