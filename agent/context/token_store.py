"""Token counts of whole texts (files, the repo map), kept on disk beside the index.

A 1M-token pack needs the token count of every file; counting a large repository takes tens of
seconds, and the counts only change with the content. So they are stored once per (content hash,
tokenizer) in the agent's own SQLite file in the index directory, and survive restarts. The
indexer's tables are not touched: this file belongs to the agent.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

FILE_NAME = "agent-token-counts.sqlite"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS token_counts (hash TEXT, tokenizer TEXT, tokens INTEGER, PRIMARY KEY (hash, tokenizer))"
)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class TokenStore:
    """(hash, tokenizer) -> token count; in memory, mirrored to SQLite when given a directory."""

    def __init__(self, directory: Path | None, tokenizer_name: str) -> None:
        self.tokenizer_name = tokenizer_name
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(directory / FILE_NAME, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(SCHEMA)
            rows = self._db.execute("SELECT hash, tokens FROM token_counts WHERE tokenizer=?", (tokenizer_name,))
            self._counts = dict(rows.fetchall())

    def get(self, key: str) -> int | None:
        return self._counts.get(key)

    def put_many(self, counts: dict[str, int]) -> None:
        if not counts:
            return
        with self._lock:
            self._counts.update(counts)
            if self._db is not None:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO token_counts (hash, tokenizer, tokens) VALUES (?, ?, ?)",
                        [(key, self.tokenizer_name, tokens) for key, tokens in counts.items()],
                    )

    def __len__(self) -> int:
        return len(self._counts)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
