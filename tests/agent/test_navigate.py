"""Go to definition and find references over a real index of the fixture shop (tests/fixtures/diagnose)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from agent import Position, Range, Workspace
from agent.navigate import Location, definition_at, references_at, token_at
from engine import OpenAIBackend, OpenAISettings
from tests.agent.refactor_fixtures import at, workspace_copy
from tests.engine.openai_stub_server import DEFAULT_MODEL, StubServer

SHOPS = Path(__file__).resolve().parent.parent / "fixtures" / "diagnose"
open_fixture = functools.partial(workspace_copy, fixtures=SHOPS)  # the fixture repos of tests/fixtures/diagnose


def loc(path: str, line: int, start: int, end: int) -> Location:
    return Location(path, Range.of(line, start, line, end))


@contextlib.asynccontextmanager
async def scripted_model() -> AsyncIterator[tuple[StubServer, OpenAIBackend]]:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 that replays scripted replies, and a backend on it."""
    async with StubServer() as server:
        backend = OpenAIBackend(
            OpenAISettings(base_url=server.url, model=DEFAULT_MODEL, tokenizer="estimate", context_window=8192)
        )
        try:
            yield server, backend
        finally:
            await backend.aclose()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_fixture(tmp_path, "shop")
    yield ws
    ws.close()


MAIN, PRICING, MODELS = "app/main.py", "pkg/pricing.py", "pkg/models.py"
TOTAL_DEF = loc(PRICING, 6, 4, 9)
CART_DEF = loc(MODELS, 12, 6, 10)


def test_token_at_reads_the_dotted_chain() -> None:
    token = token_at("    x = self.client.send(req)", 0, 22)
    assert (token.name, token.chain, token.start, token.end) == ("send", "self.client.send", 20, 24)
    assert token_at("    return None", 0, 6) is None  # a keyword is no symbol
    assert token_at("", 0, 0) is None


@pytest.mark.parametrize(
    ("line", "needle", "expected"),  # 1-based lines, as at() takes them
    [
        (16, "total", [TOTAL_DEF]),  # a name imported through the package's re-export
        (13, "Cart", [CART_DEF]),  # a class, through `from .models import Cart` in pkg/__init__
        (14, "add", [loc(MODELS, 19, 8, 11)]),  # a method, through `cart = Cart(owner)`
        (16, "report", [loc(PRICING, 11, 4, 10)]),  # `p.report`, p an aliased submodule
        (7, "pricing", [loc(PRICING, 0, 0, 0)]),  # the imported submodule itself
        (7, "pkg", [loc("pkg/__init__.py", 0, 0, 0)]),  # the module spelled in `from pkg import`
        (20, "checkout", [loc(MAIN, 11, 4, 12)]),  # a definition of the same file
        (12, "checkout", [loc(MAIN, 11, 4, 12)]),  # on a definition's own name
    ],
)
def test_definition_at(shop: Workspace, line: int, needle: str, expected: list[Location]) -> None:
    assert definition_at(shop, MAIN, at(shop, MAIN, line, needle)) == expected


def test_definition_at_nothing(shop: Workspace) -> None:
    assert definition_at(shop, MAIN, Position(0, 0)) == []  # inside the docstring's quotes
    assert definition_at(shop, MAIN, at(shop, MAIN, 2, "json")) == []  # the standard library: not ours


def test_definition_follows_the_unsaved_buffer(shop: Workspace) -> None:
    text = shop.index.source_text(MAIN).replace(
        "from pkg import Cart, Item, total", "from pkg.models import Cart, Item\nfrom pkg.pricing import total"
    )
    shop.index.update(MAIN, text)
    assert definition_at(shop, MAIN, at(shop, MAIN, 17, "total")) == [TOTAL_DEF]


def test_references_of_a_function(shop: Workspace) -> None:
    expected = [
        loc(MAIN, 5, 28, 33),  # the import
        loc(MAIN, 15, 32, 37),  # the call in checkout
        TOTAL_DEF,
        loc(PRICING, 12, 14, 19),  # inside an f-string of report
    ]
    assert references_at(shop, PRICING, at(shop, PRICING, 7, "total")) == expected
    assert references_at(shop, MAIN, at(shop, MAIN, 16, "total")) == expected  # from any reference
    assert references_at(shop, PRICING, at(shop, PRICING, 7, "total"), include_declaration=False) == [
        e for e in expected if e != TOTAL_DEF
    ]


def test_references_of_a_method_through_inferred_receivers(shop: Workspace) -> None:
    assert references_at(shop, MODELS, at(shop, MODELS, 20, "add")) == [
        loc(MAIN, 13, 9, 12),
        loc(MAIN, 14, 9, 12),
        loc(MODELS, 19, 8, 11),
    ]


def test_references_skip_a_same_named_symbol_of_another_scope(shop: Workspace) -> None:
    """A local `total` in another file is not a reference to pkg.pricing.total."""
    (shop.root / "app/other.py").write_text("def f(total):\n    return total + 1\n", encoding="utf-8")
    shop.build_index()
    assert loc("app/other.py", 1, 11, 16) not in references_at(shop, PRICING, at(shop, PRICING, 7, "total"))


def test_typescript_definition_and_references(tmp_path: Path) -> None:
    ws = open_fixture(tmp_path, "web")
    try:
        slug_def = loc("src/util.ts", 0, 16, 20)
        assert definition_at(ws, "src/main.ts", at(ws, "src/main.ts", 5, "slug")) == [slug_def]
        assert references_at(ws, "src/util.ts", slug_def.range.start) == [
            loc("src/main.ts", 2, 9, 13),
            loc("src/main.ts", 4, 21, 25),
            slug_def,
        ]
    finally:
        ws.close()


def test_a_name_imported_from_outside_is_not_a_namesake_in_the_workspace(shop: Workspace) -> None:
    """``from pkg.native import Compressor`` where pkg.native star-imports a compiled module: the
    class of the same name in app/other.py is neither its definition nor referenced by it."""
    (shop.root / "pkg/native.py").write_text("from _native_ext import *\n", encoding="utf-8")
    (shop.root / "app/other.py").write_text("class Compressor:\n    pass\n", encoding="utf-8")
    (shop.root / "app/use.py").write_text("from pkg.native import Compressor\n\nCompressor()\n", encoding="utf-8")
    shop.build_index()
    assert definition_at(shop, "app/use.py", Position(2, 0)) == []
    assert references_at(shop, "app/other.py", Position(0, 6)) == [loc("app/other.py", 0, 6, 16)]
