"""Shared fixtures: small workspaces written to a temporary folder, and indexes over them."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer import Index, IndexConfig


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Create files (text is dedented) under root; returns root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


PY_PROJECT = {
    "pyproject.toml": "[project]\nname = 'shop'\n",
    "src/shop/__init__.py": """
        from .models import Cart, Item
        from .pricing import *

        __all__ = ["Cart", "Item", "total"]
        """,
    "src/shop/models.py": '''
        """Domain objects."""
        from dataclasses import dataclass


        @dataclass
        class Item:
            """A thing to buy."""

            name: str
            price: float


        class Cart:
            def __init__(self):
                self.items: list[Item] = []

            def add(self, item: Item) -> None:
                self.items.append(item)
        ''',
    "src/shop/pricing.py": """
        from .models import Cart

        __all__ = ["total"]


        # Sum of item prices, less the discount.
        def total(cart: Cart, discount: float = 0.0) -> float:
            return sum(i.price for i in cart.items) * (1 - discount)
        """,
    "src/shop/util/__init__.py": "",
    "src/shop/util/text.py": """
        import shop.models as m
        from .. import pricing
        from shop import total


        def describe(cart: m.Cart) -> str:
            return f"{len(cart.items)} items, {pricing.total(cart)}"
        """,
    "tests/test_shop.py": """
        from shop import Cart, Item, total


        def test_total():
            cart = Cart()
            cart.add(Item("a", 2.0))
            assert total(cart) == 2.0
        """,
}


@pytest.fixture
def py_project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "shop", PY_PROJECT)


@pytest.fixture
def make_index(tmp_path: Path) -> Iterator:
    """Open indexes over a root with the index kept under tmp_path; all closed at teardown."""
    opened: list[Index] = []

    def factory(root: Path, **options) -> Index:
        index = Index(root, IndexConfig(index_dir=tmp_path / f"index-{len(opened)}", **options))
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()
