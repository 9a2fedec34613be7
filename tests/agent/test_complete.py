"""The completion pipeline against a real workspace index and a real OpenAI-compatible HTTP server
scripted with exact suggestions, so each post-processing step is checked on what comes out."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from agent import Cursor, PackRequest, Workspace, WorkspaceSettings
from agent.complete import Completer, CompletionSettings, split_fim
from agent.edits import Position, Range
from agent.engines import EngineSettings, backend_from_settings
from engine import BackendError, template_for

from ..engine.openai_stub_server import Pause, Reply, StubServer, completion_chunk

HELPERS = '''"""Shapes."""


class Circle:
    def __init__(self, radius: float) -> None:
        self.radius = radius

    def area(self) -> float:
        return 3.14159 * self.radius**2

    def scaled(self, factor: float) -> "Circle":
        return Circle(self.radius * factor)


def make_circle(radius: float) -> Circle:
    return Circle(radius)
'''

MAIN = """from shapes import Circle, make_circle


def total_area(circles):
    return sum(c.area() for c in circles)
"""


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "shapes.py").write_text(HELPERS)
    (root / "main.py").write_text(MAIN)
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "index", jobs=1)) as ws:
        ws.build_index()
        yield ws


@pytest_asyncio.fixture
async def stub():
    async with StubServer() as server:
        yield server


@pytest_asyncio.fixture
async def completer(workspace, stub):
    backend = backend_from_settings(
        EngineSettings(backend="openai", url=stub.url, model="qwen2.5-coder-7b", tokenizer="estimate")
    )
    yield Completer(workspace, backend, CompletionSettings(budget=2000))
    await backend.aclose()


def script(stub: StubServer, *pieces) -> None:
    events = [completion_chunk(p) if isinstance(p, str) else p for p in pieces]
    stub.script("/v1/completions", Reply.sse(*events, completion_chunk("", "stop")))


def at_end(text: str, marker: str = "|") -> tuple[str, Position]:
    """The buffer without the marker, and the marker's position."""
    before, _, after = text.partition(marker)
    lines = before.split("\n")
    return before + after, Position(len(lines) - 1, len(lines[-1]))


@pytest.mark.asyncio
async def test_single_line_suggestion_stops_at_the_line_break_and_packs_the_imported_definitions(completer, stub):
    buffer, position = at_end(MAIN + "\n\ndef biggest(circles):\n    return max(circles, key=lambda c: c.|)\n")
    script(stub, "area", "())\n", "    print(1)")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "area()"  # the `)` the buffer already has is trimmed; the second line dropped
    assert completion.text == "area()"
    assert completion.range == Range(position, position)
    assert not completion.multiline and not completion.from_cache
    prompt = stub.bodies("/v1/completions")[0]["prompt"]
    assert "def area(self) -> float" in prompt  # the receiver's class, from the other file
    assert any(item.path == "shapes.py" for item in completion.pack.items)


@pytest.mark.asyncio
async def test_range_starts_where_the_typed_word_starts(completer, stub):
    buffer, position = at_end(MAIN + "\n\ndef one():\n    c = make_circle(1)\n    return c.ar|\n")
    script(stub, "ea()")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.text == "area()"
    assert completion.range == Range.of(position.line, position.column - 2, position.line, position.column)


@pytest.mark.asyncio
async def test_multi_line_after_a_def_line_stops_where_the_block_ends(completer, stub):
    buffer, position = at_end(MAIN + "\n\ndef doubled(circles):\n    |\n\n\ndef other():\n    pass\n")
    script(stub, "result = [c.scaled(2) for c in circles]\n", "    return result\n", "\n\ndef third():\n    pass\n")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.multiline
    assert completion.suggestion == "result = [c.scaled(2) for c in circles]\n    return result"


@pytest.mark.asyncio
async def test_multi_line_stops_where_it_repeats_the_next_line_of_the_buffer(completer, stub):
    buffer, position = at_end("def f(x):\n    |\n\nprint(f(2))\n")
    script(stub, "y = x + 1\n    return y\n\nprint(f(2))\n")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "y = x + 1\n    return y"


@pytest.mark.asyncio
async def test_mid_line_cursor_gets_a_single_line(completer, stub):
    buffer, position = at_end("def f(x):\n    y = |\n")
    script(stub, "x * 2\n    return y\n")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "x * 2" and not completion.multiline


@pytest.mark.asyncio
async def test_a_colon_inside_a_string_does_not_open_a_block(completer, stub):
    buffer, position = at_end('label = "total:"\n|\n')
    script(stub, "x = 1\ny = 2\n")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "x = 1" and not completion.multiline


@pytest.mark.asyncio
async def test_own_closing_bracket_is_kept_inside_a_call(completer, stub):
    buffer, position = at_end("print(|)\n")
    script(stub, "len(x))")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "len(x)"
    script(stub, "len(x)")
    buffer2, position2 = at_end("print(y, |)\n")
    completion = await completer.complete("main.py", position2, buffer2)
    assert completion.suggestion == "len(x)"


@pytest.mark.asyncio
async def test_whitespace_only_suggestion_is_dropped(completer, stub):
    buffer, position = at_end("x = |\n")
    script(stub, "   ", "\n")
    assert await completer.complete("main.py", position, buffer) is None


@pytest.mark.asyncio
async def test_typing_through_a_suggestion_reuses_it_without_asking_the_model(completer, stub):
    buffer, position = at_end("def f(values):\n    return sum(|)\n")
    script(stub, "v * 2 for v in values)")
    first = await completer.complete("main.py", position, buffer)
    assert first.suggestion == "v * 2 for v in values"
    typed, position = at_end("def f(values):\n    return sum(v *|)\n")
    second = await completer.complete("main.py", position, typed)
    assert second.from_cache and second.suggestion == " 2 for v in values"
    assert second.pack is first.pack
    assert len(stub.bodies("/v1/completions")) == 1
    other, position = at_end("def f(values):\n    return sum(w|)\n")
    script(stub, "+ 1")
    third = await completer.complete("main.py", position, other)
    assert not third.from_cache and len(stub.bodies("/v1/completions")) == 2


@pytest.mark.asyncio
async def test_deadline_keeps_what_arrived_in_time(workspace, stub):
    backend = backend_from_settings(EngineSettings(backend="openai", url=stub.url, model="m", tokenizer="estimate"))
    completer = Completer(workspace, backend, CompletionSettings(budget=500, deadline_s=0.3))
    buffer, position = at_end("x = |\n")
    script(stub, "compute(", Pause(3.0), "1)")
    completion = await completer.complete("main.py", position, buffer)
    assert completion.suggestion == "compute("
    await asyncio.wait_for(stub.disconnected.wait(), 5)  # the stream was closed, the server stopped
    await backend.aclose()


@pytest.mark.asyncio
async def test_cancelling_the_task_closes_the_model_stream(completer, stub):
    buffer, position = at_end("x = |\n")
    script(stub, "a", Pause(5.0), "b")
    task = asyncio.create_task(completer.complete("main.py", position, buffer))
    while not stub.requests:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(stub.disconnected.wait(), 5)
    assert stub.disconnects == ["/v1/completions"]


@pytest.mark.asyncio
async def test_position_outside_the_buffer_is_a_clear_error(completer):
    with pytest.raises(ValueError, match="outside main.py"):
        await completer.complete("main.py", Position(40, 0), "x = 1\n")


def test_members_after_a_dot_come_from_the_receivers_class(completer):
    buffer, position = at_end(MAIN + "\n\ndef one():\n    c = make_circle(1)\n    c.|\n")
    items = completer.symbols("main.py", position, buffer)
    assert {"area", "scaled"} <= {item.label for item in items}
    assert all(item.member and item.path == "shapes.py" for item in items)
    assert "__init__" not in {item.label for item in items}


def test_importable_names_match_the_typed_word(completer):
    buffer, position = at_end("x = make_ci|\n")
    items = completer.symbols("main.py", position, buffer)
    assert [(item.label, item.path, item.member) for item in items] == [("make_circle", "shapes.py", False)]


def test_split_fim_inverts_the_template():
    template = template_for("qwen2.5-coder-7b")
    assert split_fim(template.fim("a\nb", "c\n"), template) == ("a\nb", "c\n")


def test_openai_backend_needs_url_and_model():
    with pytest.raises(BackendError, match="needs `url` and `model`"):
        backend_from_settings(EngineSettings(backend="openai"))


def test_unknown_backend_is_named():
    with pytest.raises(BackendError, match="unknown backend 'gpt'"):
        backend_from_settings(EngineSettings(backend="gpt"))  # type: ignore[arg-type]


def test_local_backend_is_the_shipped_checkpoint_or_says_why_not():
    from agent.engines import default_checkpoint

    if default_checkpoint() is None:
        with pytest.raises(BackendError, match="engine/weights/default holds no trained checkpoint") as missing:
            backend_from_settings(EngineSettings(backend="local"))
        assert missing.value.kind == "no_model"
        return
    backend = backend_from_settings(EngineSettings(backend="local", device="cpu"))
    assert backend.info.backend == "local" and backend.info.model == "default"
    assert not any("random" in note for note in backend.info.notes)


@pytest.mark.asyncio
async def test_prepare_counts_the_workspace_only_for_windows_that_take_whole_files(workspace, stub):
    def backend(window: int):
        return backend_from_settings(
            EngineSettings(backend="openai", url=stub.url, model="m", tokenizer="estimate", context_window=window)
        )

    small, large = backend(8192), backend(131_072)
    try:
        assert await Completer(workspace, small, CompletionSettings()).prepare() == 0
        completer = Completer(workspace, large, CompletionSettings())
        tokens = await completer.prepare()
        counter = large.info.tokenizer
        assert tokens >= counter.count(HELPERS) + counter.count(MAIN)
        packer = workspace.packer(counter)
        pack = packer.pack(PackRequest(Cursor("main.py", 1, 1, MAIN), 100_000))
        whole = [item for item in pack.items if item.path == "shapes.py"]  # the cursor's own file is the window
        assert whole and whole[0].start_line == 1 and whole[0].end_line >= HELPERS.count("\n")
    finally:
        await small.aclose()
        await large.aclose()
