"""Local inference of a receiver's class, and member lookup through it, on a real index."""

from __future__ import annotations

import pytest

from indexer.receivers import annotation_class
from tests.conftest import write_tree

FILES = {
    "pkg/__init__.py": "",
    "pkg/base.py": """
        class Mixin:
            def register(self, hook):
                pass


        class Client(Mixin):
            def send(self, request):
                pass
        """,
    "pkg/app.py": """
        from typing import Optional

        from . import base
        from .base import Client


        class Service:
            def __init__(self):
                self.client: Client = make()
                self.backup = base.Client()

            def run(self, fallback: Optional["Client"] = None, other: Client | None = None):
                local = base.Client()
                local.send(1)
                fallback.send(2)
                other.register(3)
                self.client.send(4)
                self.backup.register(5)
                shadow = Client()
                shadow = 3
                shadow.send(6)
        """,
}


@pytest.mark.parametrize(
    "line, receiver, member, expected",
    [
        (14, "local", "send", ("pkg/base.py", "Client.send")),
        (15, "fallback", "send", ("pkg/base.py", "Client.send")),
        (16, "other", "register", ("pkg/base.py", "Mixin.register")),  # through the base class
        (17, "self.client", "send", ("pkg/base.py", "Client.send")),
        (18, "self.backup", "register", ("pkg/base.py", "Mixin.register")),
    ],
)
def test_receiver_class_and_member(tmp_path, make_index, line, receiver, member, expected):
    root = write_tree(tmp_path / "ws", FILES)
    index = make_index(root)
    index.build()
    classes = index.receiver_classes("pkg/app.py", line, receiver)
    assert [c.definition.name for c in classes] == ["Client"]
    found = [(d.path, d.definition.qualified_name) for c in classes for d in index.members(c, member)]
    assert found == [expected]


def test_rebinding_to_a_non_call_and_unknown_receivers_give_nothing(tmp_path, make_index):
    root = write_tree(tmp_path / "ws", FILES)
    index = make_index(root)
    index.build()
    assert index.receiver_classes("pkg/app.py", 21, "shadow") == []
    assert index.receiver_classes("pkg/app.py", 21, "nobody") == []
    assert index.receiver_classes("pkg/app.py", 2, "local") == []  # not inside a function


def test_buffer_text_is_used_when_given(tmp_path, make_index):
    root = write_tree(tmp_path / "ws", FILES)
    index = make_index(root)
    index.build()
    text = (root / "pkg/app.py").read_text().replace("local = base.Client()", "local = Service()")
    assert [c.definition.name for c in index.receiver_classes("pkg/app.py", 14, "local", text=text)] == ["Service"]


@pytest.mark.parametrize(
    "annotation, expected",
    [
        ("C", "C"),
        ('"C"', "C"),
        ("Optional[C]", "C"),
        ("typing.Optional['mod.C']", "mod.C"),
        ("Union[C, None]", "C"),
        ("C | None", "C"),
        ("C[int, str]", "C"),
        ("Union[A, B]", None),
        ("None", None),
    ],
)
def test_annotation_class(annotation, expected):
    assert annotation_class(annotation) == expected


def test_a_half_typed_cursor_line_does_not_hide_the_function(tmp_path, make_index):
    root = write_tree(tmp_path / "ws", FILES)
    index = make_index(root)
    index.build()
    lines = (root / "pkg/app.py").read_text().split("\n")
    lines[14] = "        value = 1 + fallback.send("  # unclosed call on the cursor line (line 15)
    text = "\n".join(lines)
    assert [c.definition.name for c in index.receiver_classes("pkg/app.py", 15, "fallback", text=text)] == ["Client"]
