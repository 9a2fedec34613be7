"""Arbitrary bytes as file contents never break the index.

For every language's extensions, hypothesis writes random bytes and near-valid source (truncated
UTF-8, NULs, BOMs, mixed line endings, a huge line, deep nesting, undecodable bytes) into a workspace,
builds the index cold, rebuilds it after the files change, overlays each file as an editor buffer and
closes it again. After each step SQLite's integrity check passes and every file is either in the
index or counted as skipped with a reason. The same contents also go to the real server as didOpen
and didChange, which must keep answering.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_files import EXTENSIONS, WORKSPACE, index_round, integrity_ok
from bench.fuzz_session import FuzzSession
from indexer import Index, IndexConfig, all_languages


def test_the_extensions_cover_every_language():
    covered = {spec.name for spec in all_languages().values() if set(spec.extensions) & set(EXTENSIONS)}
    assert covered == set(all_languages()), set(all_languages()) - covered


@settings(max_examples=12, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=WORKSPACE, second=WORKSPACE)
def test_arbitrary_bytes_build_rebuild_and_overlay_into_a_consistent_index(first, second):
    assert index_round(first, second) == []


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
