"""The kernels run on a CUDA GPU; with TRITON_INTERPRET=1 they also run on the CPU through Triton's interpreter.

Without Triton, or with neither a GPU nor the interpreter, every test here is skipped (CI has neither).
"""

from __future__ import annotations

import os

import pytest
import torch

# One tile config per kernel: every test shape would otherwise compile and time all of them (bench/ tunes).
os.environ.setdefault("WHOLEREPO_KERNEL_TUNE", "0")


@pytest.fixture
def device() -> str:
    pytest.importorskip("triton")
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get("TRITON_INTERPRET") == "1":
        return "cpu"
    pytest.skip("needs a CUDA GPU (or TRITON_INTERPRET=1 for Triton's CPU interpreter)")


@pytest.fixture
def gen() -> torch.Generator:
    """Fresh random inputs on every run: the kernels must compute the same function on any valid input."""
    g = torch.Generator()
    g.seed()
    return g


@pytest.fixture
def bf16_device(device: str) -> str:
    """A device where bf16 tl.dot is right: Triton's interpreter gets it wrong (triton 3.8: errors of 1e10)."""
    if device == "cpu":
        pytest.skip("bf16 tl.dot is wrong in Triton's interpreter; checked on the GPU")
    return device
