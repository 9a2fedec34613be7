"""Arbitrary bytes as file contents never break the index.

For every language's extensions, hypothesis writes random bytes and near-valid source (truncated
UTF-8, NULs, BOMs, mixed line endings, a huge line, deep nesting, undecodable bytes) into a workspace,
builds the index cold, rebuilds it after the files change, overlays each file as an editor buffer and
closes it again. After each step SQLite's integrity check passes and every file is either in the
index or counted as skipped with a reason. The same contents also go to the real server as didOpen
and didChange, which must keep answering.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_session import FuzzSession
from indexer import Index, IndexConfig, all_languages

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


def accounted(index: Index, stats, files: dict[str, bytes]) -> None:
    """Every file indexed, or skipped with a reason; nothing else in the index."""
    stored = set(index.store.paths())
    assert stored <= set(files), stored - set(files)
    assert len(stored) + sum(stats.skipped.values()) == len(files), (stored, dict(stats.skipped))
    assert all(reason for reason in stats.skipped), stats.skipped


def write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).write_bytes(data)


def test_the_extensions_cover_every_language():
    covered = {spec.name for spec in all_languages().values() if set(spec.extensions) & set(EXTENSIONS)}
    assert covered == set(all_languages()), set(all_languages()) - covered


@settings(max_examples=12, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=WORKSPACE, second=WORKSPACE)
def test_arbitrary_bytes_build_rebuild_and_overlay_into_a_consistent_index(first, second):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "ws"
        root.mkdir()
        write(root, first)
        with Index(root, IndexConfig(index_dir=Path(scratch) / "index", jobs=1)) as index:
            accounted(index, index.build(), first)
            assert integrity_ok(index)
            write(root, second)  # the files change on disk: an incremental build
            accounted(index, index.build(), second)
            for rel, data in first.items():  # editor buffers over them: what an editor would hold
                assert index.update(rel, data.decode("utf-8", "surrogateescape"))
                assert index.store.file(rel) is not None
            assert integrity_ok(index)
            for rel in first:
                index.close_buffer(rel)
            assert integrity_ok(index)
            accounted(index, index.build(), second)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    fuzzing = FuzzSession(tmp_path_factory.mktemp("fuzz-index"))
    fuzzing.start()
    yield fuzzing
    assert fuzzing.stop() == 0


@settings(max_examples=8, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=WORKSPACE, data=st.data())
def test_the_same_contents_as_editor_buffers_keep_the_server_answering(session, files, data):
    from bench.fuzz_messages import REFUSALS, Case

    before = len(session.tally.findings)
    for n, (rel, raw) in enumerate(sorted(files.items())):
        uri = (session.root / f"buffer{n}{Path(rel).suffix}").as_uri()
        text = raw.decode("utf-8", "surrogateescape")  # lone surrogates reach JSON as \\udcxx escapes
        opened = {"textDocument": {"uri": uri, "languageId": "x", "version": 1, "text": text}}
        changed = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text[::-1]}]}
        position = {"line": data.draw(st.integers(0, 50)), "character": data.draw(st.integers(0, 200))}
        hover = {"textDocument": {"uri": uri}, "position": position}
        frames = (
            {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": opened},
            {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": changed},
            {"jsonrpc": "2.0", "id": "$id", "method": "textDocument/hover", "params": hover},
        )
        session.run(Case("buffer", frames, "answer", REFUSALS, documents=2), probe=n == len(files) - 1)
    assert session.tally.findings[before:] == []


def test_a_buffer_over_the_size_cap_stays_out_like_the_file_would(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text("def on_disk():\n    pass\n")
    with Index(root, IndexConfig(index_dir=tmp_path / "index", max_file_size=2_000, jobs=1)) as index:
        index.build()
        assert index.update("a.py", "def in_buffer():\n    pass\n")
        assert [d.definition.name for d in index.definitions("a.py")] == ["in_buffer"]
        assert not index.update("a.py", "def grown():\n    pass\n" + "x = 1\n" * 500)  # 3 KB: over the cap
        assert [d.definition.name for d in index.definitions("a.py")] == ["on_disk"]  # the overlay is gone
        assert not index.store.file("a.py").flags & 2  # FLAG_OVERLAY
        assert integrity_ok(index)
