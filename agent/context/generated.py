"""Built copies of the sources: type declarations, minified or compiled output.

npm packages ship `dist/` next to `src/`, repeating every definition; packing both halves the room
for code and can show the model compiled JavaScript where it should see the TypeScript source.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath

GENERATED_DIRS = frozenset({"dist", "build", "out", "node_modules", "__pycache__"})
GENERATED_SUFFIXES = (".d.ts", ".d.mts", ".d.cts", ".min.js", ".map")


@lru_cache(maxsize=1 << 16)  # asked of every workspace path when a pack's stable part is rebuilt
def is_generated(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return path.endswith(GENERATED_SUFFIXES) or any(part in GENERATED_DIRS for part in parts[:-1])
