"""Explanations over a real index of the fixture shop: summaries, hover, code lenses, and the model
narrative against a real HTTP model server (tests/engine/openai_stub_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import Position, Workspace
from agent.explain import (
    FileLenses,
    code_lenses,
    explain_file,
    explain_symbol,
    hover_markdown,
    known_places,
    narrate,
    summary_text,
    validate_citations,
)
from tests.agent.refactor_fixtures import at
from tests.agent.test_navigate import loc, open_fixture, scripted_model
from tests.engine.openai_stub_server import Reply, chat_chunk

MAIN, PRICING, MODELS = "app/main.py", "pkg/pricing.py", "pkg/models.py"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_fixture(tmp_path, "shop")
    yield ws
    ws.close()


def chain(nodes, depth: int = 0) -> list[tuple[int, str, str, tuple[int, ...]]]:
    """(depth, qualified name, defined at, call-site lines) for each node of a call tree."""
    out = []
    for node in nodes:
        site_lines = tuple(site.line for site in node.sites)
        out.append(
            (depth, node.symbol.qualified_name, f"{node.symbol.location.path}:{node.symbol.location.line}", site_lines)
        )
        out += chain(node.children, depth + 1)
    return out


def test_explain_a_function(shop: Workspace) -> None:
    explanation = explain_symbol(shop, PRICING, at(shop, PRICING, 7, "total"))
    symbol = explanation.symbol
    assert (symbol.kind, symbol.qualified_name, symbol.location, symbol.start_line, symbol.end_line) == (
        "function",
        "total",
        loc(PRICING, 6, 4, 9),
        7,
        9,
    )
    assert symbol.signature == "def total(cart: Cart, discount: float = 0.0) -> float"
    assert explanation.doc == "Sum of item prices, less the discount."
    assert (explanation.reference_count, explanation.file_count) == (3, 2)
    assert [(u.path, u.count) for u in explanation.dependents] == [(MAIN, 2), (PRICING, 1)]
    assert [(u.symbol.qualified_name, u.symbol.location.path, u.count) for u in explanation.dependencies] == [
        ("Cart", MODELS, 1)
    ]
    assert chain(explanation.callers) == [
        (0, "checkout", "app/main.py:12", (16,)),
        (1, "run", "app/main.py:19", (20,)),
        (0, "report", "pkg/pricing.py:12", (13,)),
        (1, "checkout", "app/main.py:12", (16,)),
    ]
    assert explanation.callees == ()


def test_explain_calls_to_depth_two(shop: Workspace) -> None:
    explanation = explain_symbol(shop, MAIN, at(shop, MAIN, 12, "checkout"))
    assert chain(explanation.callees) == [
        (0, "Cart.add", "pkg/models.py:20", (14, 15)),  # through the receiver `cart = Cart(owner)`
        (0, "Item", "pkg/models.py:6", (14, 15)),
        (0, "Cart", "pkg/models.py:13", (13,)),
        (0, "total", "pkg/pricing.py:7", (16,)),
        (0, "report", "pkg/pricing.py:12", (16,)),
        (1, "total", "pkg/pricing.py:7", (13,)),  # report calls total in an f-string
    ]
    assert chain(explanation.callers) == [(0, "run", "app/main.py:19", (20,))]


def test_explain_nothing_there(shop: Workspace) -> None:
    assert explain_symbol(shop, MAIN, Position(9, 0)) is None  # an empty line
    assert explain_symbol(shop, MAIN, at(shop, MAIN, 7, "pricing")) is None  # a module: see explain_file


def test_hover_markdown(shop: Workspace) -> None:
    explanation = explain_symbol(shop, MAIN, at(shop, MAIN, 16, "total"))
    assert hover_markdown(explanation) == (
        "```python\ndef total(cart: Cart, discount: float = 0.0) -> float\n```\n\n"
        "Sum of item prices, less the discount.\n\n"
        "**3 references in 2 files**: app/main.py:6, pkg/pricing.py:13\n\n"
        "Called by: `checkout` (app/main.py:12), `report` (pkg/pricing.py:12)\n\n"
        "Uses: `Cart` (pkg/models.py:13)\n\n"
        "Defined at pkg/pricing.py:7"
    )


def test_explain_file(shop: Workspace) -> None:
    explanation = explain_file(shop, PRICING)
    assert (explanation.language, explanation.line_count) == ("python", 14)
    assert [d.name for d in explanation.definitions] == ["__all__", "total", "report"]
    assert [(i.location.line, i.module, i.targets) for i in explanation.imports] == [(2, ".models", (MODELS,))]
    assert explanation.dependencies == (MODELS,)
    assert [(i.path, i.line) for i in explanation.importers] == [(MAIN, 7), ("pkg/__init__.py", 3)]
    assert [(ref.name, uses, files) for ref, uses, files in explanation.used_elsewhere] == [
        ("total", 2, 1),
        ("report", 1, 1),
    ]
    assert hover_markdown(explanation) == (
        "**pkg/pricing.py** (python, 14 lines, 3 top-level definitions)\n\n"
        "Imports 1 workspace file; imported by 2 files\n\n"
        "Most used elsewhere: `total` (2× in 1 file), `report` (1× in 1 file)"
    )
    with pytest.raises(FileNotFoundError):
        explain_file(shop, "pkg/nope.py")


def test_code_lenses(shop: Workspace) -> None:
    lenses = code_lenses(shop, PRICING)
    assert [(lens.range.start.line, lens.title) for lens in lenses] == [
        (0, "imported by 2 files"),
        (6, "3 references in 2 files"),
        (11, "1 reference in 1 file"),
    ]
    assert [(x.path, x.line) for x in lenses[0].locations] == [(MAIN, 7), ("pkg/__init__.py", 3)]
    assert [(x.path, x.line) for x in lenses[1].locations] == [(MAIN, 6), (MAIN, 16), (PRICING, 13)]
    model_lenses = code_lenses(shop, MODELS)
    assert [(lens.range.start.line, lens.title) for lens in model_lenses] == [
        (0, "imported by 3 files"),  # app/main.py imports the package, not pkg.models
        (5, "6 references in 3 files"),  # Item: 2 imports, 2 calls, 2 annotations
        (12, "7 references in 4 files"),  # Cart: also `Cart as Basket` in a guarded import
        (15, "0 references in 0 files"),  # __init__ is called through Cart(...), not by name
        (19, "2 references in 1 file"),  # add
    ]
    (shop.root / "notes.md").write_text("# not indexed\n", encoding="utf-8")
    assert code_lenses(shop, "notes.md") == []


def test_file_lenses_are_placed_first_and_counted_one_by_one(shop: Workspace) -> None:
    lenses = FileLenses(shop, MODELS)
    assert [(s.range.start.line, s.ord, s.name) for s in lenses.slots][:3] == [
        (0, -1, ""),
        (5, 0, "Item"),
        (12, 3, "Cart"),
    ]
    assert [lenses.resolve(s.ord, s.name) for s in lenses.slots] == code_lenses(shop, MODELS)
    assert lenses.resolve(3, "Item") is None  # placed for another definition: the editor asks again
    assert lenses.resolve(99) is None


def test_citations_outside_the_summary_are_dropped(shop: Workspace) -> None:
    explanation = explain_symbol(shop, PRICING, at(shop, PRICING, 7, "total"))
    places = known_places(explanation)
    text = (
        "total (pkg/pricing.py:7) sums prices; checkout calls it at app/main.py:16 "
        "and so does nowhere.py:3 (pkg/pricing.py:99), see ./app/main.py:20."
    )
    assert validate_citations(text, places) == (
        "total (pkg/pricing.py:7) sums prices; checkout calls it at app/main.py:16 and so does, see ./app/main.py:20."
    )


@pytest.mark.asyncio
async def test_narrate_is_grounded_in_the_summary(shop: Workspace) -> None:
    async with scripted_model() as (server, backend):
        story = (
            "`total` (pkg/pricing.py:7) adds up the cart. `checkout` uses it (app/main.py:16); "
            "it is also cached in pkg/cache.py:4 (app/main.py:99)."
        )
        reply = Reply.sse(chat_chunk(story[:30]), chat_chunk(story[30:]), chat_chunk(finish="stop"))
        server.script("/v1/chat/completions", reply)
        explanation = explain_symbol(shop, PRICING, at(shop, PRICING, 7, "total"))
        narrative = await narrate(shop, explanation, backend)
        assert narrative == (
            "`total` (pkg/pricing.py:7) adds up the cart. `checkout` uses it (app/main.py:16); it is also cached in."
        )
        (request,) = server.bodies("/v1/chat/completions")
        prompt = request["messages"][1]["content"]
        assert summary_text(explanation) in prompt
        assert "--- pkg/pricing.py:7-9\ndef total(cart: Cart, discount: float = 0.0) -> float:" in prompt
        assert "pkg/models.py" in prompt  # the packed context brings the definition of Cart


@pytest.mark.asyncio
async def test_narrate_a_file(shop: Workspace) -> None:
    async with scripted_model() as (server, backend):
        story = "pricing.py imports Cart (pkg/pricing.py:2); app/main.py:7 imports it; see pkg/pricing.py:40."
        server.script("/v1/chat/completions", Reply.sse(chat_chunk(story), chat_chunk(finish="stop")))
        explanation = explain_file(shop, PRICING)
        narrative = await narrate(shop, explanation, backend)
        assert narrative == "pricing.py imports Cart (pkg/pricing.py:2); app/main.py:7 imports it; see."
        (request,) = server.bodies("/v1/chat/completions")
        prompt = request["messages"][1]["content"]
        assert "- imported by app/main.py:7" in prompt
        assert "- defines function total at pkg/pricing.py:7" in prompt
