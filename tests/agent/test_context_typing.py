"""What makes packs cheap while typing must never change what they hold.

Real index of a fixture repo, real SQLite FTS5. Each test types the way an
editor does (the buffer re-indexed on every keystroke) and compares a long-lived packer's sources
with fresh ones, or the kept BM25 postings with FTS5's own ranking.
"""

from __future__ import annotations

import pytest

from agent import Workspace, WorkspaceSettings
from agent.context import Cursor
from agent.context.background import BackgroundJobs
from agent.context.deadline import Deadline
from agent.context.sources.definitions import DefinitionSource
from agent.context.sources.files import FileLines
from agent.context.sources.lexical import LexicalSource, lexical_query
from agent.context.sources.postings import TermPostings
from agent.context.spans import HeaderEnds, header_end
from indexer.chunks import search_terms
from tests.agent.test_context import APP
from tests.conftest import write_tree

# more chunks and terms than APP alone, so BM25's statistics and ties are not trivial
MORE = {
    "app/queue.py": '''
        from .retry import backoff


        class Queue:
            """Jobs waiting for a worker."""

            def __init__(self) -> None:
                self.jobs: list[str] = []

            def put(self, job: str) -> None:
                self.jobs.append(job)

            def take(self, attempt: int) -> str | None:
                if not self.jobs:
                    backoff(attempt)
                    return None
                return self.jobs.pop(0)
        ''',
    "app/worker.py": """
        from .queue import Queue
        from .service import fetch


        def work(queue: Queue, attempts: int = 3) -> None:
            for attempt in range(attempts):
                path = queue.take(attempt)
                if path is not None:
                    fetch(path)
        """,
}
TYPED = "response.raise_for_status()"


@pytest.fixture
def workspace(tmp_path):
    root = write_tree(tmp_path / "app", APP | MORE)
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "index")) as workspace:
        workspace.build_index()
        workspace.index.sync_chunks()
        yield workspace


def _keystrokes(workspace: Workspace, path: str, line_text: str, replacement: str):
    """Cursors after each keystroke retyping ``line_text`` as ``replacement``, the buffer indexed each time."""
    disk = (workspace.root / path).read_text()
    start = disk.index(line_text)
    for typed in range(len(replacement) + 1):
        text = disk[:start] + replacement[:typed] + disk[start + len(line_text) :]
        workspace.index.update(path, text)
        line = text.count("\n", 0, start) + 1
        col = start - (text.rfind("\n", 0, start) + 1) + typed + 1
        yield Cursor(path, line, col, text)


def _terms(text: str) -> list[str]:
    return list(dict.fromkeys(search_terms(text).split()))


@pytest.mark.parametrize("exclude", [None, "app/service.py"])
def test_kept_postings_rank_as_fts5_ranks_the_whole_query(workspace, exclude):
    postings = TermPostings(workspace.index)
    queries = [
        "for attempt in range(attempts): wait = backoff(attempt)",
        "self.jobs.append(job) queue take",
        "client = Client(base) response = client.send(path)",
        "for attempt in range(attempts): wait = backoff(attempt)",  # back to the first: terms taken away
        "nothing_matches_this",
    ]
    for query in queries:
        expected = workspace.index.search_code(query, 7, exclude_path=exclude)
        found = postings.search(_terms(query), "state", 7, exclude)
        assert [hit[:3] for hit in found] == [hit[:3] for hit in expected], query
        assert [hit[3] for hit in found] == pytest.approx([hit[3] for hit in expected], abs=1e-6)


def test_kept_postings_are_dropped_when_the_chunk_table_changes(workspace):
    postings = TermPostings(workspace.index)
    before = postings.search(["jobs"], ("table", 1), 10)
    workspace.index.update("app/twin.py", "def jobs_twice(jobs):\n    return jobs + jobs\n")
    workspace.index.sync_chunks()
    assert postings.search(["jobs"], ("table", 1), 10) == before  # the caller's state says nothing moved
    after = postings.search(["jobs"], ("table", 2), 10)
    expected = workspace.index.search_code("jobs", 10)
    assert [hit[:3] for hit in after] == [hit[:3] for hit in expected]
    assert [hit[3] for hit in after] == pytest.approx([hit[3] for hit in expected], abs=1e-6)
    assert any(hit[0] == "app/twin.py" for hit in after)


def test_while_typing_the_lexical_source_finds_what_a_fresh_one_finds(workspace):
    typing = LexicalSource(workspace.index, BackgroundJobs())
    for cursor in _keystrokes(workspace, "app/service.py", TYPED, "wait = queue.take(attempt)"):
        fresh = LexicalSource(workspace.index, BackgroundJobs())
        assert typing.candidates(cursor, Deadline.never()) == fresh.candidates(cursor, Deadline.never())
        expected = workspace.index.search_code(lexical_query(cursor), 80, exclude_path=cursor.path)
        found = typing.candidates(cursor, Deadline.never())
        assert [(c.path, c.start_line, c.end_line) for c in found] == [hit[:3] for hit in expected][:40]


def test_a_chunk_sync_made_straight_on_the_index_drops_the_kept_postings(workspace):
    typing = LexicalSource(workspace.index, BackgroundJobs())
    cursors = list(_keystrokes(workspace, "app/service.py", TYPED, "wait = queue.take(attempt)"))
    for cursor in cursors[:3]:  # the second search on scores from kept postings
        typing.candidates(cursor, Deadline.never())
    retry = "def take_twice(queue, attempt):\n    wait = queue.take(attempt)\n    return queue.take(wait)\n"
    workspace.index.update("app/retry.py", retry)  # a file already chunked: the set of paths stays
    cursor = cursors[-1]
    before = typing._table(cursor)
    workspace.index.sync_chunks()  # not through any LexicalSource: the index counts it
    assert typing._table(cursor) != before  # so every kept term's postings are dropped
    fresh = LexicalSource(workspace.index, BackgroundJobs())
    found = typing.candidates(cursor, Deadline.never())
    assert found == fresh.candidates(cursor, Deadline.never())
    assert any(c.path == "app/retry.py" and c.start_line == 1 for c in found)


@pytest.mark.parametrize(
    ("path", "line_text", "replacement"),
    [
        ("app/service.py", TYPED, "retried = backoff(attempt) + client.send(path).status"),  # inside a body
        ("app/service.py", "def fetch_with_retry(", "def fetch_again("),  # a definition's line: its name changes
        ("app/service.py", "def fetch_with_retry(", "def backoff("),  # ...to an imported name, which it shadows
        ("app/service.py", "from .retry import backoff", "from .queue import Queue"),  # an import line
        ("app/http.py", "The body parsed as JSON.", "Parsed: self.status and Client.send"),  # a docstring
        ("app/http.py", "return json.loads(self.body)", "return self.raise_for_status("),  # a method's body
        ("app/queue.py", "    def put(self, job: str) -> None:", "class Stack(Queue):"),  # ends a class, starts one
    ],
)
def test_while_typing_the_definitions_source_finds_what_a_fresh_one_finds(workspace, path, line_text, replacement):
    files = FileLines(workspace.index)
    typing = DefinitionSource(workspace.index, files)
    for cursor in _keystrokes(workspace, path, line_text, replacement):
        fresh = DefinitionSource(workspace.index, FileLines(workspace.index))
        files.typing_in(cursor.path)
        assert typing.candidates(cursor, Deadline.never()) == fresh.candidates(cursor, Deadline.never()), cursor


def test_a_name_typed_as_a_new_definition_resolves_to_it_at_once(workspace):
    typing = DefinitionSource(workspace.index, FileLines(workspace.index))
    path = "app/service.py"
    disk = (workspace.root / path).read_text()
    line = disk.count("\n", 0, disk.index("wait = backoff(attempt)")) + 1
    cursor = Cursor(path, line, 30, disk)
    assert any(c.path == "app/retry.py" for c in typing.candidates(cursor, Deadline.never()))

    shadowed = disk + "\n\ndef backoff(attempt: int) -> float:\n    return 0.0\n"
    workspace.index.update(path, shadowed)
    found = typing.candidates(Cursor(path, line, 30, shadowed), Deadline.never())
    backoffs = [c for c in found if "backoff" in c.reason and "function" in c.reason]
    assert backoffs and backoffs[0].path == path  # the local definition now, not the import's


def test_lines_of_other_files_follow_their_edits_while_typing_elsewhere(workspace):
    files = FileLines(workspace.index)
    files.typing_in("app/service.py")
    assert "def backoff(" in "\n".join(files.lines("app/retry.py"))
    for cursor in _keystrokes(workspace, "app/service.py", TYPED, "resp"):
        assert files.lines(cursor.path) == cursor.text.split("\n")
    workspace.index.update("app/retry.py", "def pause(attempt: int) -> float:\n    return 1.0\n")
    assert files.lines("app/retry.py") == ["def pause(attempt: int) -> float:", "    return 1.0", ""]


def test_an_edit_above_the_cursor_line_reaches_the_next_search_on_that_line(workspace):
    typing = DefinitionSource(workspace.index, FileLines(workspace.index))
    path = "app/service.py"
    disk = (workspace.root / path).read_text()
    line = disk.count("\n", 0, disk.index(TYPED)) + 1
    for text in (disk, disk.replace("client = Client(", "client = Response(", 1), disk):
        workspace.index.update(path, text)
        cursor = Cursor(path, line, 9, text)  # the same place; a line above it differs
        fresh = DefinitionSource(workspace.index, FileLines(workspace.index))
        assert typing.candidates(cursor, Deadline.never()) == fresh.candidates(cursor, Deadline.never())


def test_a_remembered_header_end_follows_its_own_lines_and_ignores_the_others(workspace):
    stored = next(d for d in workspace.index.definitions("app/http.py") if d.definition.name == "send")
    definition = stored.definition
    lines = (workspace.root / "app/http.py").read_text().split("\n")
    headers = HeaderEnds()
    first = headers.end(lines, definition)
    assert first == header_end(lines, definition) == definition.name_line + 1  # signature and docstring
    elsewhere = lines[:3] + ["# typed far above"] + lines[4:]  # a new list, the header's lines the same
    assert headers.end(elsewhere, definition) == first
    no_doc = list(lines)
    no_doc[definition.name_line] = "        return Response(200, b'')"  # the docstring's line changed
    assert headers.end(no_doc, definition) == header_end(no_doc, definition) == definition.name_line


def test_terms_a_search_had_no_time_for_are_fetched_in_the_background(workspace, monkeypatch):
    import indexer.store

    monkeypatch.setattr(indexer.store, "PROGRESS_STEPS", 1)  # poll at every SQLite step: the fixture is small
    jobs = BackgroundJobs()
    lexical = LexicalSource(workspace.index, jobs)
    cursor = next(_keystrokes(workspace, "app/service.py", TYPED, "wait = queue.take(attempt)"))
    assert lexical.candidates(cursor, Deadline(0)) == []  # no time, and no earlier hits to stand in
    jobs.wait()
    fresh = LexicalSource(workspace.index, BackgroundJobs()).candidates(cursor, Deadline.never())
    assert fresh and lexical.candidates(cursor, Deadline(0)) == fresh  # every term kept: no SQLite asked


def _at(workspace: Workspace, path: str, line_text: str, replacement: str) -> Cursor:
    """The buffer with ``line_text`` made ``replacement`` (indexed), the cursor at its end."""
    *_, cursor = _keystrokes(workspace, path, line_text, replacement)
    return cursor


def test_kept_postings_survive_typing_in_another_file_and_follow_a_deletion(workspace, monkeypatch):
    import indexer.store

    lexical = LexicalSource(workspace.index, BackgroundJobs())
    lexical.candidates(_at(workspace, "app/service.py", TYPED, "response"), Deadline.never())  # one OR query
    before = lexical.candidates(_at(workspace, "app/service.py", TYPED, TYPED), Deadline.never())  # postings
    assert before
    for cursor in _keystrokes(workspace, "app/worker.py", "fetch(path)", "fetch(queue"):
        lexical.candidates(cursor, Deadline.never())  # typing in another file, then closing it unsaved
    workspace.index.close_buffer("app/worker.py")

    monkeypatch.setattr(indexer.store, "PROGRESS_STEPS", 1)  # any question to SQLite now runs out of time
    back = _at(workspace, "app/service.py", TYPED, "response.raise_")  # a new query, its terms all asked before
    found = lexical.candidates(back, Deadline(0))
    assert found != before  # not the last hits standing in: a fresh ranking, from kept postings
    assert found == LexicalSource(workspace.index, BackgroundJobs()).candidates(back, Deadline.never())

    monkeypatch.undo()
    assert any(c.path == "app/queue.py" for c in found)
    (workspace.root / "app/queue.py").unlink()
    workspace.index.refresh(["app/queue.py"])
    after = lexical.candidates(back, Deadline.never())
    assert after and not any(c.path == "app/queue.py" for c in after)
    assert after == LexicalSource(workspace.index, BackgroundJobs()).candidates(back, Deadline.never())
