"""Shared fixtures: a tiny code corpus and a tokenizer trained on it with the real training pipeline."""

from __future__ import annotations

import pytest

from engine.train.sources import SourceFile
from engine.train.tokenizer import train_tokenizer

CODE = [
    "import os\nfrom pathlib import Path\n\n\ndef read_config(path):\n    with open(path) as handle:\n"
    "        return handle.read()\n",
    "class HTTPServer:\n    def __init__(self, host, port=8080):\n        self.host = host\n"
    "        self.port = port\n\n    def get_value(self, key):\n        return self.values.get(key, None)\n",
    "def add(a, b):\n    return a + b\n\n\ndef total(items):\n    result = 0\n    for item in items:\n"
    "        result += item.price * 1000\n    return result\n",
    'if __name__ == "__main__":\n\tprint("tabs, unicode: café ∑ 🚀")\n    x = [1, 2, 3]\n',
]


def corpus(copies: int = 6) -> list[SourceFile]:
    """Files in a few directories (packages), each text repeated so BPE finds merges."""
    files = []
    for i in range(copies):
        for j, text in enumerate(CODE):
            files.append(SourceFile(path=f"pkg{i % 3}/sub{j % 2}/mod{i}_{j}.py", text=text * 3))
    return files


@pytest.fixture(scope="session")
def tokenizer():
    return train_tokenizer([f.text for f in corpus()], vocab_size=600)
