"""tests/vllm run only against a real vLLM server that `make test-vllm` starts (tests/vllm/run.py).

It passes the server through the environment; without it (a plain `make test`) every test here is skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

URL_ENV = "WHOLEREPO_VLLM_URL"  # "http://127.0.0.1:PORT", the server's root (no /v1)
MODEL_ENV = "WHOLEREPO_VLLM_MODEL"  # the served model name
TOKENIZER_ENV = "WHOLEREPO_VLLM_TOKENIZER"  # the model folder's tokenizer.json
WINDOW_ENV = "WHOLEREPO_VLLM_WINDOW"  # --max-model-len it was started with


@dataclass(frozen=True)
class VllmTarget:
    url: str
    model: str
    tokenizer: str
    window: int


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(URL_ENV):
        return
    skip = pytest.mark.skip(reason=f"needs a real vLLM server: `make test-vllm` starts one and sets ${URL_ENV}")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def vllm_target() -> VllmTarget:
    return VllmTarget(
        url=os.environ[URL_ENV].rstrip("/"),
        model=os.environ[MODEL_ENV],
        tokenizer=os.environ[TOKENIZER_ENV],
        window=int(os.environ[WINDOW_ENV]),
    )
