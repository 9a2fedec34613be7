"""Arbitrary bytes as the files of a workspace, and the index checked after each step.

Random bytes, or a small valid snippet of each language mutated up to three times (truncated, a
multi-byte character cut short, NULs, a BOM, CRLF / CR / mixed line endings, a huge line, deep
nesting, undecodable bytes, repetition). `index_round` builds the index cold, rebuilds it after the
files change on disk, overlays every file as an editor buffer and closes it again; after each step
SQLite's integrity check must pass and every file must be indexed or counted as skipped with a reason.
tests/indexer/test_fuzz_index.py runs a few derandomized rounds, bench/index_fuzz_eval.py hundreds.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import strategies as st

from indexer import Index, IndexConfig, all_languages
from indexer.files import too_deeply_nested

EXAMPLES = {
    ".py": "import os\n\n\nclass A:\n    def f(self, x):\n        return os.path.join(x, 'é')\n",
    ".js": "import { b } from './b.js';\nexport function f(x) { return b(x) + `${x}`; }\n",
    ".ts": "import { B } from './b';\nexport class A<T> implements B { f(x: T): T { return x; } }\n",
    ".tsx": 'export const App = (p: { n: number }) => <div className="x">{p.n}</div>;\n',
    ".go": 'package main\n\nimport "fmt"\n\nfunc F(x int) int { fmt.Println(x); return x }\n',
    ".rs": "use std::fmt;\n\npub struct S { x: i32 }\nimpl S { pub fn f(&self) -> i32 { self.x } }\n",
    ".java": "package p;\n\nimport java.util.List;\n\npublic class C { int f(List<String> x) { return 1; } }\n",
    ".c": "#include <stdio.h>\n\nstatic int f(int x) { return x; }\nint main(void) { return f(1); }\n",
    ".cpp": "#include <vector>\nnamespace n { template <typename T> struct S { T f() const; }; }\n",
    ".h": "#ifndef H\n#define H\nint f(int x);\n#endif\n",
}
EXTENSIONS = sorted({ext for spec in all_languages().values() for ext in spec.extensions} & set(EXAMPLES))


def _mutate(source: bytes, how: str, where: int, size: int) -> bytes:
    at = where % (len(source) + 1)
    return {
        "truncate": source[:at],
        "cut_utf8": source.replace(b"\xc3\xa9", b"\xc3")[:at] + b"\xe2\x82",  # a multi-byte character cut short
        "nul": source[:at] + b"\x00" * (size % 7 + 1) + source[at:],
        "bom": b"\xef\xbb\xbf" + source,
        "crlf": source.replace(b"\n", b"\r\n"),
        "cr": source.replace(b"\n", b"\r"),
        "mixed": source[:at].replace(b"\n", b"\r\n") + source[at:].replace(b"\n", b"\r"),
        "huge_line": source[:at] + b"x" * (10_000 + size) + source[at:],
        "deep": source[:at] + b"(" * (500 + size % 1_500) + b"{" * 300 + b"[" * 300 + source[at:],
        "undecodable": source[:at] + b"\xff\xfe\xed\xa0\x80\xc0\xaf" + source[at:],
        "repeat": source * (size % 20 + 2),
    }[how]


@st.composite
def contents(draw, ext: str) -> bytes:
    """Random bytes, or one of the language's snippet with up to three mutations."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=3_000))
    source = EXAMPLES[ext].encode("utf-8")
    for _ in range(draw(st.integers(1, 3))):
        how = draw(
            st.sampled_from(
                [
                    "truncate",
                    "cut_utf8",
                    "nul",
                    "bom",
                    "crlf",
                    "cr",
                    "mixed",
                    "huge_line",
                    "deep",
                    "undecodable",
                    "repeat",
                ]
            )
        )
        source = _mutate(source, how, draw(st.integers(0, 10_000)), draw(st.integers(0, 5_000)))
    return source


WORKSPACE = st.fixed_dictionaries({f"m{n}{ext}": contents(ext) for n, ext in enumerate(EXTENSIONS)})


def integrity_ok(index: Index) -> bool:
    with sqlite3.connect(f"file:{index.store.path}?mode=ro", uri=True) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def unaccounted(index: Index, stats, files: dict[str, bytes]) -> list[str]:
    """Problems, if any: every file must be indexed or skipped with a reason, and nothing else indexed."""
    stored = set(index.store.paths())
    problems = [f"indexed but never written: {sorted(stored - set(files))}"] if stored - set(files) else []
    if len(stored) + sum(stats.skipped.values()) != len(files):
        problems.append(f"{len(files)} files, {len(stored)} indexed, skipped {dict(stats.skipped)}")
    if not all(stats.skipped):
        problems.append(f"a skip without a reason: {dict(stats.skipped)}")
    return problems


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).write_bytes(data)


def index_round(first: dict[str, bytes], second: dict[str, bytes]) -> list[str]:
    """Build, rebuild, overlay and close over two generations of the files; the problems found."""
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        root.mkdir()
        write(root, first)
        with Index(root, IndexConfig(index_dir=Path(scratch) / "index", jobs=1)) as index:
            problems += unaccounted(index, index.build(), first)
            write(root, second)  # the files change on disk: an incremental build
            problems += unaccounted(index, index.build(), second)
            problems += [] if integrity_ok(index) else ["integrity check failed after the builds"]
            for rel, data in first.items():  # editor buffers over them: what an editor would hold
                text = data.decode("utf-8", "surrogateescape")
                refused = too_deeply_nested(text.encode("utf-8", "replace"))  # kept out by design, as on disk
                if index.update(rel, text) == refused or (not refused and index.store.file(rel) is None):
                    problems.append(f"the buffer of {rel} was {'indexed' if refused else 'not indexed'}")
            problems += [] if integrity_ok(index) else ["integrity check failed after the overlays"]
            for rel in first:
                index.close_buffer(rel)
            problems += [] if integrity_ok(index) else ["integrity check failed after closing the buffers"]
            problems += unaccounted(index, index.build(), second)
    return problems
