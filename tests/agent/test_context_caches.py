"""The caches behind fast packs and prefix reuse: they must never change what a pack holds.

Real index of a fixture repo, real DeepSeek tokenizer, real SQLite token store.
"""

from __future__ import annotations

import pytest

from agent import Workspace, WorkspaceSettings
from agent.context import ContextPacker, Cursor, PackRequest, render_context
from agent.context.deadline import Deadline
from agent.context.sources.lexical import lexical_query
from agent.context.stable import REPO_MAP_PATH
from agent.context.token_store import TokenStore
from agent.context.window import LINE_STEP, PREFIX_SHARE
from engine import TEMPLATES, load_tokenizer
from tests.agent.test_context import APP, _cursor
from tests.conftest import write_tree

# a second folder, so the repo map comes in more than one part
EXTRA = {
    "app/store/__init__.py": "",
    "app/store/cache.py": '''
        from ..retry import backoff


        class Cache:
            """Responses kept for a while."""

            def get(self, key: str) -> bytes | None:
                return None

            def put(self, key: str, value: bytes) -> None:
                backoff(1)
        ''',
}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("deepseek")


@pytest.fixture
def workspace(tmp_path):
    root = write_tree(tmp_path / "app", APP | EXTRA)
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "index")) as workspace:
        workspace.build_index()
        yield workspace


def _items(pack) -> list[dict]:
    return [item.to_json() | {"text": item.text} for item in pack.items]


def _type(workspace: Workspace, path: str, old: str, new: str) -> Cursor:
    """Put ``new`` in place of ``old`` in the buffer (indexed as the editor would) and a cursor after it."""
    disk = (workspace.root / path).read_text()
    text = disk.replace(old, new)
    workspace.index.update(path, text)
    offset = disk.index(old) + len(new)
    line = text.count("\n", 0, offset) + 1
    return Cursor(path, line, offset - (text.rfind("\n", 0, offset) + 1) + 1, text)


def test_token_counts_are_kept_on_disk_per_content_and_follow_edits(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    total = packer.prepare()
    rows = workspace.index.store.files()
    stored = TokenStore(workspace.index.store.path.parent, tokenizer.name)  # read back from disk
    texts = {path: workspace.index.source_text(path) for path in rows}
    assert total == sum(tokenizer.count(text) for text in texts.values())
    for path, row in rows.items():
        assert stored.get(row.hash) == tokenizer.count(texts[path]), path

    edited = texts["app/retry.py"] + "\n\ndef jitter(seconds: float) -> float:\n    return seconds * 1.1\n"
    workspace.index.update("app/retry.py", edited)
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    pack = packer.pack(PackRequest(cursor, 100_000))
    retry = next(item for item in pack.items if item.path == "app/retry.py")
    assert retry.text == edited and retry.tokens == tokenizer.count(edited)


def test_the_repo_map_comes_in_parts_each_counted_exactly_under_one_header(workspace, tokenizer):
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    pack = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 100_000))
    parts = [item for item in pack.items if item.path == REPO_MAP_PATH]
    assert len(parts) == 2  # app/ and app/store/
    assert all(part.tokens == tokenizer.count(part.text) for part in parts)
    assert [part.start_line for part in parts] == [1, parts[0].end_line + 1]
    assert "app/store/cache.py" in parts[1].text and "class Cache" in parts[1].text
    rendered = render_context(pack, TEMPLATES["qwen-coder"], "app")
    assert rendered.count("<|file_sep|>repo map\n") == 1
    assert pack.tokens <= 100_000


def test_a_warm_packer_packs_what_a_fresh_one_packs(workspace, tokenizer):
    warm = ContextPacker(workspace.index, tokenizer)
    elsewhere = _cursor(workspace, "app/store/cache.py", "backoff(1")
    here = _cursor(workspace, "app/service.py", "response = client.send(")
    for budget in (120, 400, 2000):
        warm.pack(PackRequest(here, budget))
        warm.pack(PackRequest(elsewhere, budget))  # the packer now remembers another file's tail
        again = warm.pack(PackRequest(here, budget))
        fresh = ContextPacker(workspace.index, tokenizer).pack(PackRequest(here, budget))
        assert _items(again) == _items(fresh), budget


def test_an_edit_to_another_file_reaches_a_warm_pack_at_the_same_cursor(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    before = packer.pack(PackRequest(cursor, 400))
    assert any("Seconds to wait" in item.text for item in before.items)

    retry = (workspace.root / "app/retry.py").read_text().replace("Seconds to wait", "How long to sleep")
    workspace.index.update("app/retry.py", retry)
    after = packer.pack(PackRequest(cursor, 400))
    assert any("How long to sleep" in item.text for item in after.items)
    assert not any("Seconds to wait" in item.text for item in after.items)
    assert after.tokens <= 400 and all(item.tokens == tokenizer.count(item.text) for item in after.items)


def test_a_buffer_after_warm_packs_of_the_disk_text_still_wins(workspace, tokenizer):
    packer = workspace.packer(tokenizer)
    disk = (workspace.root / "app/service.py").read_text()
    buffer = disk.replace("from .retry import backoff", "from .retry import unrelated_helper").replace(
        "wait = backoff(attempt)", "wait = unrelated_helper("
    )
    cursor = _cursor(workspace, "app/service.py", "wait = unrelated_helper(", text=buffer)
    for _ in range(2):  # the same position with the disk text: every cache now holds the disk's answer
        packer.pack(PackRequest(Cursor(cursor.path, cursor.line, 5, disk), 100))
    pack = workspace.pack("app/service.py", cursor.line, cursor.col, 100, tokenizer, buffer=buffer)
    helper = [item for item in pack.items if "`unrelated_helper`" in item.reason]
    assert helper and helper[0].path == "app/retry.py" and "def unrelated_helper" in helper[0].text
    assert not any("`backoff`" in item.reason for item in pack.items)  # named only on disk


@pytest.mark.parametrize("budget", [60, 200, 800])
def test_typing_keeps_the_budget_and_the_order_of_what_stays(workspace, tokenizer, budget):
    packer = ContextPacker(workspace.index, tokenizer)
    previous = None
    for typed in ("r", "re", "res", "resp", "respo", "respon", "response", "response."):
        cursor = _type(workspace, "app/service.py", "response.raise_for_status()", typed)
        pack = packer.pack(PackRequest(cursor, budget, window_budget=64))
        assert pack.tokens <= budget
        assert all(item.tokens == tokenizer.count(item.text) for item in pack.items)
        others = [(item.path, item.start_line) for item in pack.items if item.path != cursor.path]
        own = [item.start_line for item in pack.items if item.path == cursor.path]
        assert own == sorted(own)  # the cursor's own file last, in line order
        assert [item.path for item in pack.items[len(others) :]] == [cursor.path] * len(own)
        if previous is not None:  # what stays keeps its relative order
            stayed = [key for key in previous if key in others]
            assert [key for key in others if key in stayed] == stayed
        previous = others


def test_the_window_start_holds_still_while_typing_and_the_suffix_is_short(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    starts = set()
    for typed in ("r", "re", "res", "resp", "respo", "respon", "response"):
        cursor = _type(workspace, "app/service.py", "response.raise_for_status()", typed)
        window = packer.pack(PackRequest(cursor, 100, window_budget=64)).window
        starts.add(window.start_line)
        assert (window.start_line - 1) % LINE_STEP == 0 or window.start_line == cursor.line
        assert tokenizer.count(window.suffix) <= 64 - int(64 * PREFIX_SHARE)
    assert len(starts) == 1


def test_the_lexical_query_leaves_out_the_word_being_typed(workspace):
    text = (workspace.root / "app/service.py").read_text()
    queries = set()
    for typed in ("response.r", "response.rai", "response.raise_for"):
        buffer = text.replace("response.raise_for_status()", typed)
        queries.add(lexical_query(_cursor(workspace, "app/service.py", typed, text=buffer)))
    (query,) = queries
    assert "    response." in query.split("\n") and "raise" not in query


def test_lexical_hits_follow_an_edit_to_another_file_but_not_the_cursor_file(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    lexical = packer.sources["lexical"]
    cursor = _type(workspace, "app/service.py", "wait = backoff(attempt)", "wait = backoff(attempt)")
    request = PackRequest(cursor, 300)
    assert not any(hit.path == "app/twin.py" for hit in lexical(request, Deadline.never()))

    twin = "def fetch_twice(path):\n    for attempt in range(attempts):\n        wait = backoff(attempt)\n"
    workspace.index.update("app/twin.py", twin)
    assert any(hit.path == "app/twin.py" for hit in lexical(request, Deadline.never()))

    cursor = _type(workspace, "app/service.py", "wait = backoff(attempt)", "wait = backoff(attempt + 1)")
    hits = lexical(PackRequest(cursor, 300), Deadline.never())
    assert all(hit.path != "app/service.py" for hit in hits)
    stale = {path for path, _ in workspace.index.store.stale_chunk_files()}
    assert stale == {"app/service.py"}  # the file being typed in is never a hit: its chunks wait


def test_a_local_definition_moved_by_typing_is_packed_where_it_now_is(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    for blank_lines in ("", "\n", "\n\n\n"):  # lines typed above `def fetch`: its lines move
        cursor = _type(workspace, "app/service.py", "return fetch(path)", "return fetch(")
        text = cursor.text.replace("def fetch(path", blank_lines + "def fetch(path", 1)
        workspace.index.update("app/service.py", text)
        cursor = Cursor(cursor.path, cursor.line + blank_lines.count("\n"), cursor.col, text)
        pack = packer.pack(PackRequest(cursor, 300, window_budget=16))
        fetch = [item for item in pack.items if "function fetch:" in item.reason]
        assert fetch and fetch[0].path == "app/service.py"
        assert fetch[0].text.startswith("def fetch(path: str) -> dict:")
        assert text.split("\n")[fetch[0].start_line - 1].startswith("def fetch(path")


def test_a_lexical_search_out_of_time_is_abandoned_and_the_files_last_hits_stand_in(workspace, tokenizer, monkeypatch):
    import indexer.store
    from indexer import QueryInterrupted

    packer = ContextPacker(workspace.index, tokenizer)
    lexical = packer.sources["lexical"]
    cursor = _type(workspace, "app/service.py", "wait = backoff(attempt)", "wait = backoff(attempt)")
    found = lexical(PackRequest(cursor, 300), Deadline.never())
    assert found

    monkeypatch.setattr(indexer.store, "PROGRESS_STEPS", 1)  # poll at every SQLite step: the fixture is small
    with pytest.raises(QueryInterrupted):
        workspace.index.search_code("backoff attempt wait", 10, should_stop=lambda: True)
    assert workspace.index.search_code("backoff attempt wait", 10, should_stop=lambda: False)  # polled, not stopped

    moved = _type(workspace, "app/service.py", "wait = backoff(attempt)", "delay = backoff(retries)")
    assert lexical(PackRequest(moved, 300), Deadline(0)) == found  # a new query, no time: the last hits
    assert lexical(PackRequest(moved, 300), Deadline.never()) != []  # with time, the new query runs


def test_the_reference_graph_stands_while_other_files_hold_its_contents_and_follows_real_changes(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    packer.prepare()
    built = packer.graph._graph
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    _type(workspace, "app/retry.py", "def backoff", "def backof")  # typed in another file, then closed unsaved
    workspace.index.close_buffer("app/retry.py")
    pack = packer.pack(PackRequest(cursor, 800))
    assert packer.graph._graph is built  # the same contents: no rebuild
    assert _items(pack) == _items(ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 800)))

    retry = (workspace.root / "app/retry.py").read_text()
    workspace.index.update("app/retry.py", retry + "\n\ndef jitter(seconds: float) -> float:\n    return seconds\n")
    pack = packer.pack(PackRequest(cursor, 800))
    assert packer.graph._graph is not built  # a real change: rebuilt
    assert packer.graph._graph.generation == workspace.index.generation
    assert _items(pack) == _items(ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 800)))
