"""Context packing over a real index of a fixture repo, with the real DeepSeek tokenizer."""

from __future__ import annotations

import json
import textwrap

import pytest

from agent import Workspace, WorkspaceSettings, evaluate, load_cases
from agent.context import STRATEGIES, ContextPacker, Cursor, PackRequest, UnknownStrategy
from engine import load_tokenizer
from tests.conftest import write_tree

APP = {
    "pyproject.toml": "[project]\nname = 'app'\n",
    "app/__init__.py": "",
    "app/http.py": '''
        """HTTP plumbing."""


        class Response:
            """What a server sent back."""

            def __init__(self, status: int, body: bytes) -> None:
                self.status = status
                self.body = body

            def json(self) -> dict:
                """The body parsed as JSON."""
                import json

                return json.loads(self.body)

            def raise_for_status(self) -> None:
                if self.status >= 400:
                    raise RuntimeError(self.status)


        class Client:
            def __init__(self, base: str) -> None:
                self.base = base

            def send(self, path: str) -> Response:
                """Send a request and return the response."""
                return Response(200, b"{}")
        ''',
    "app/retry.py": '''
        def backoff(attempt: int, base: float = 0.5) -> float:
            """Seconds to wait before the next attempt."""
            return base * 2**attempt


        def unrelated_helper() -> int:
            return 42
        ''',
    "app/service.py": """
        from .http import Client, Response
        from .retry import backoff


        def fetch(path: str) -> dict:
            client = Client("https://example.org")
            response = client.send(path)
            response.raise_for_status()
            return response.json()


        def fetch_with_retry(path: str, attempts: int = 3) -> dict:
            for attempt in range(attempts):
                try:
                    return fetch(path)
                except RuntimeError:
                    wait = backoff(attempt)
            raise RuntimeError(path)
        """,
}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("deepseek")


@pytest.fixture
def workspace(tmp_path):
    root = write_tree(tmp_path / "app", APP)
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "index")) as workspace:
        workspace.build_index()
        yield workspace


def _cursor(workspace: Workspace, path: str, needle: str, after: bool = True, text: str | None = None) -> Cursor:
    """A cursor placed just after (or before) the first occurrence of ``needle`` in the file."""
    text = text if text is not None else (workspace.root / path).read_text()
    offset = text.index(needle) + (len(needle) if after else 0)
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Cursor(path, line, col, text)


def _line_of(workspace: Workspace, path: str, needle: str) -> int:
    text = (workspace.root / path).read_text()
    return text.count("\n", 0, text.index(needle)) + 1


def _covers(pack, path: str, line: int) -> bool:
    return any(item.path == path and item.start_line <= line <= item.end_line for item in pack.items)


def test_the_budget_is_never_exceeded_in_real_tokens(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    cursor = _cursor(workspace, "app/service.py", "response = client.send(")
    for budget in (8, 40, 120, 400, 4000):
        for strategy in STRATEGIES:
            pack = packer.pack(PackRequest(cursor, budget, strategy, window_budget=30))
            assert pack.tokens <= budget, (strategy, budget)
            for item in pack.items:
                assert item.tokens == tokenizer.count(item.text), item
                if item.path == "<repo-map>":
                    continue
                lines = (workspace.root / item.path).read_text().split("\n")
                assert item.text == "\n".join(lines[item.start_line - 1 : item.end_line])


def test_definitions_at_the_cursor_come_first_and_explain_why(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    pack = packer.pack(
        PackRequest(_cursor(workspace, "app/service.py", "response = client.send("), 60, window_budget=30)
    )
    first = pack.items[0]
    # Client.send, found through `client = Client(...)`
    assert (first.path, first.start_line) == ("app/http.py", _line_of(workspace, "app/http.py", "def send"))
    assert "Client.send" in first.reason and "cursor" in first.reason
    assert all(item.reason for item in pack.items)


def test_members_of_the_receiver_type_are_listed_after_a_dot(workspace, tokenizer):
    text = (workspace.root / "app/service.py").read_text().replace("response.raise_for_status()", "response.")
    cursor = _cursor(workspace, "app/service.py", "    response.", text=text)
    packer = ContextPacker(workspace.index, tokenizer)
    workspace.index.update("app/service.py", text)
    pack = packer.pack(PackRequest(cursor, 200, window_budget=20))
    assert _covers(pack, "app/http.py", _line_of(workspace, "app/http.py", "def raise_for_status"))
    assert _covers(pack, "app/http.py", _line_of(workspace, "app/http.py", "def json"))


def test_headers_first_then_whole_bodies_when_the_budget_allows(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    small = packer.pack(PackRequest(cursor, 40, window_budget=10))
    large = packer.pack(PackRequest(cursor, 2000, window_budget=10))
    body = _line_of(workspace, "app/retry.py", "return base")
    assert small.items[0].path == "app/retry.py" and small.items[0].start_line == 1  # the signature...
    assert not _covers(small, "app/retry.py", body)  # ...without the body
    assert _covers(large, "app/retry.py", 1) and _covers(large, "app/retry.py", body)


def test_no_line_is_packed_twice_nor_repeats_the_cursor_window(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    for strategy in STRATEGIES:
        pack = packer.pack(PackRequest(cursor, 5000, strategy, window_budget=40))
        taken: dict[str, set[int]] = {pack.window.path: set(range(pack.window.start_line, pack.window.end_line + 1))}
        for item in pack.items:
            lines = set(range(item.start_line, item.end_line + 1))
            assert not lines & taken.setdefault(item.path, set()), (strategy, item)
            taken[item.path] |= lines


def test_packing_is_deterministic(workspace, tokenizer):
    cursor = _cursor(workspace, "app/service.py", "response = client.send(")
    first = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 300))
    second = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 300))
    assert [i.to_json() for i in first.items] == [i.to_json() for i in second.items]


def test_the_buffer_overrides_the_disk_everywhere(workspace, tokenizer):
    disk = (workspace.root / "app/service.py").read_text()
    buffer = disk.replace("from .retry import backoff", "from .retry import unrelated_helper").replace(
        "wait = backoff(attempt)", "wait = unrelated_helper("
    )
    cursor = _cursor(workspace, "app/service.py", "wait = unrelated_helper(", text=buffer)
    pack = workspace.pack("app/service.py", cursor.line, cursor.col, 100, tokenizer, buffer=buffer)
    assert pack.mode == "ranked"
    assert _covers(pack, "app/retry.py", _line_of(workspace, "app/retry.py", "def unrelated_helper"))
    assert pack.items[0].path == "app/retry.py" and "unrelated_helper" in pack.items[0].reason
    assert not any("`backoff`" in item.reason for item in pack.items)  # named only on disk
    assert workspace.index.source_text("app/service.py") == disk  # the overlay is gone afterwards


def test_positions_outside_the_file_are_clear_errors(workspace, tokenizer):
    with pytest.raises(ValueError, match="line 99"):
        workspace.pack("app/service.py", 99, 1, 100, tokenizer)
    with pytest.raises(ValueError, match="outside the workspace"):
        workspace.pack("../elsewhere.py", 1, 1, 100, tokenizer)
    with pytest.raises(UnknownStrategy):
        workspace.pack("app/service.py", 1, 1, 100, tokenizer, strategy="magic")


def test_the_evaluation_scores_hand_made_cases_exactly(workspace, tokenizer, tmp_path):
    service = (workspace.root / "app/service.py").read_text().split("\n")
    call_line = next(n for n, line in enumerate(service, 1) if "wait = backoff(" in line)
    prefix = service[call_line - 1].split("backoff(")[0] + "backoff("

    def case(case_id: str, gold_path: str, def_line: int, variant: str) -> str:
        return json.dumps(
            {
                "id": case_id,
                "package": "app==0",
                "root": str(workspace.root),
                "file": "app/service.py",
                "line": call_line,
                "col": len(prefix) + 1,
                "variant": variant,
                "kind": "call",
                "line_prefix": prefix,
                "target": "attempt)",
                "gold": [{"path": gold_path, "start_line": def_line, "end_line": def_line, "def_line": def_line}],
            }
        )

    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text(
        "\n".join(
            [
                case("hit", "app/retry.py", 1, "call"),  # backoff: found
                case("miss-wrong-file", "app/gone.py", 1, "call"),  # no such file: never covered
                case("miss-own-file", "app/service.py", 1, "line"),  # the current file never counts
            ]
        )
    )
    report = evaluate(load_cases(cases_file), [500], ["default"], tokenizer, WorkspaceSettings(tmp_path / "idx"))
    result = report.to_json()
    row = result["strategies"]["default"]["500"]
    assert (row["hits"], row["cases"], row["recall"]) == (1, 3, 0.3333)
    assert result["strategies"]["default"]["500"]["variant"] == {"call": 0.5, "line": 0.0}
    assert [row["hit"] for row in result["cases"]] == [True, False, False]


def test_baselines_rank_what_they_promise(workspace, tokenizer):
    packer = ContextPacker(workspace.index, tokenizer)
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    imports = packer.pack(PackRequest(cursor, 10_000, "imports"))
    assert [item.path for item in imports.items] == ["app/http.py", "app/retry.py"]
    assert imports.items[0].start_line == 1 and imports.items[0].end_line >= _line_of(workspace, "app/http.py", 'b"{}"')
    for strategy in ("bm25", "jaccard"):
        pack = packer.pack(PackRequest(cursor, 10_000, strategy))
        assert pack.items and all(item.end_line - item.start_line < 20 for item in pack.items)
        assert all(item.path != "app/service.py" for item in pack.items)


def test_a_huge_window_budget_leaves_nothing_to_repeat(workspace, tokenizer):
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    pack = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 1000, window_budget=100_000))
    assert pack.window.start_line == 1 and pack.window.end_line == len(cursor.lines)
    assert pack.window.prefix + pack.window.suffix == textwrap.dedent(cursor.text)
    assert all(item.path != "app/service.py" for item in pack.items)


def test_prompts_render_in_the_models_repo_format_with_the_hole_at_the_cursor(workspace, tokenizer):
    from agent.context import render_fim_prompt
    from engine import TEMPLATES

    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    pack = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 100, window_budget=60))
    qwen = render_fim_prompt(pack, TEMPLATES["qwen-coder"], "app")
    assert qwen.startswith("<|fim_prefix|><|repo_name|>app\n<|file_sep|>app/retry.py:1-")
    assert qwen.endswith("<|fim_middle|>")
    before, after = qwen.split("<|fim_suffix|>")
    assert before.endswith("wait = backoff(") and after.startswith("attempt)")
    assert "<|file_sep|>app/service.py\n" in before
    plain = render_fim_prompt(pack, TEMPLATES["deepseek-coder"], "app")
    assert plain.startswith("<｜fim▁begin｜># app/retry.py:1-") and "<｜fim▁hole｜>attempt)" in plain


def test_special_tokens_inside_code_are_broken_up(tmp_path, tokenizer):
    from agent.context import render_context
    from engine import TEMPLATES

    root = write_tree(tmp_path / "evil", {"a.py": "from b import f\nf(", "b.py": 'def f():\n    "<|file_sep|>"\n'})
    with Workspace(root, WorkspaceSettings(index_dir=tmp_path / "index")) as workspace:
        workspace.build_index()
        cursor = _cursor(workspace, "a.py", "f(")
        pack = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 50, window_budget=5))
        rendered = render_context(pack, TEMPLATES["qwen-coder"], "evil")
    assert rendered.count("<|file_sep|>") == len(pack.items) and "<\u200b|file_sep|>" in rendered


def test_the_stable_part_survives_typing_and_follows_other_files(workspace, tokenizer, monkeypatch):
    from agent.context import packer as packer_module

    monkeypatch.setattr(packer_module, "VOLATILE_BUDGET", 40)  # leave room for a stable part in a tiny repo
    packer = ContextPacker(workspace.index, tokenizer)
    disk = (workspace.root / "app/service.py").read_text()
    stable_parts = []
    for typed in ("w", "wa", "wai", "wait"):
        text = disk.replace("wait = backoff(attempt)", typed)
        workspace.index.update("app/service.py", text)
        cursor = _cursor(workspace, "app/service.py", f"    {typed}", text=text)
        pack = packer.pack(PackRequest(cursor, 260, window_budget=20))
        stable_parts.append([(item.path, item.text) for item in pack.stable_items])
    assert stable_parts[0] and all(part == stable_parts[0] for part in stable_parts)
    assert all(path != "app/service.py" for path, _ in stable_parts[0])

    workspace.index.update("app/retry.py", (workspace.root / "app/retry.py").read_text() + "\n\nRETRIES = 3\n")
    pack = packer.pack(PackRequest(cursor, 260, window_budget=20))
    assert [(item.path, item.text) for item in pack.stable_items] != stable_parts[0]


def test_whole_repo_mode_packs_every_file_in_dependency_order(workspace, tokenizer):
    cursor = _cursor(workspace, "app/service.py", "wait = backoff(")
    pack = ContextPacker(workspace.index, tokenizer).pack(PackRequest(cursor, 100_000))
    assert pack.mode == "whole-repo"
    files = [item.path for item in pack.stable_items]
    assert files[0] == "<repo-map>"
    assert files[1:] == ["app/http.py", "app/retry.py"]  # dependencies first; the empty __init__.py adds nothing
    assert "app/service.py" not in files  # the cursor's file is the window, last in the prompt
