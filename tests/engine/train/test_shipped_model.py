"""The shipped default model (engine/weights/default): small enough, loads, completes, and is the default."""

from __future__ import annotations

import asyncio

import pytest

from engine import FimRequest
from engine.backends.local import DEFAULT_CHECKPOINT, LocalBackend, LocalSettings
from engine.runtime.checkpoint import WEIGHTS_FILE, load_checkpoint

MAX_BYTES = 30 * 1024 * 1024

pytestmark = pytest.mark.skipif(
    not (DEFAULT_CHECKPOINT / "config.json").is_file(), reason="no shipped checkpoint in engine/weights/default"
)


def test_shipped_checkpoint_is_at_most_30_mb_and_loads():
    assert (DEFAULT_CHECKPOINT / WEIGHTS_FILE).stat().st_size <= MAX_BYTES
    model = load_checkpoint(DEFAULT_CHECKPOINT)
    assert model.config.attention == "dsa" and model.config.engram is not None and model.config.mhc_streams == 4


def test_local_settings_default_to_the_shipped_model_and_it_completes():
    backend = LocalBackend.from_settings(LocalSettings(device="cpu"))

    async def complete() -> str:
        prefix = "import os\n\n\ndef read_text(path):\n    with open(path) as f:\n        "
        request = FimRequest(prefix=prefix, suffix="\n")
        text = "".join([delta.text async for delta in backend.fim(request)])
        await backend.aclose()
        return text

    assert backend.info.model == "default"
    assert not any("random" in note for note in backend.info.notes)
    assert asyncio.run(complete()).strip()
