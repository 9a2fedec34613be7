"""Go rename: package-level functions and types, through same-package files and `pkg.Name` imports."""

from __future__ import annotations

import pytest

from agent import RefactorError, rename
from tests.agent.refactor_fixtures import at, edits_of, workspace_fixture

go = workspace_fixture("go")
NEW_SQUARE = [
    ("cmd/main.go", 13, 13, "MakeSquare"),  # shapes.NewSquare(2)
    ("cmd/main.go", 14, 26, "MakeSquare"),  # sh.NewSquare(3), through an aliased import
    ("shapes/more.go", 4, 8, "MakeSquare"),  # another file of the package, no import needed
    ("shapes/shapes.go", 13, 5, "MakeSquare"),
]
# not renamed: main's own NewSquare and its call, the parameter NewSquare of shapes.Shadow


@pytest.mark.parametrize(("path", "line"), [("shapes/shapes.go", 13), ("shapes/more.go", 4), ("cmd/main.go", 13)])
def test_a_package_level_function_from_its_definition_or_any_use(go, path, line):
    assert edits_of(rename(go, path, at(go, path, line, "NewSquare"), "MakeSquare")) == NEW_SQUARE


def test_a_type_in_receivers_literals_and_qualified_types(go):
    assert edits_of(rename(go, "shapes/shapes.go", at(go, "shapes/shapes.go", 4, "Square"), "Box")) == [
        ("cmd/main.go", 17, 19, "Box"),  # q shapes.Square
        ("shapes/shapes.go", 4, 5, "Box"),
        ("shapes/shapes.go", 9, 8, "Box"),  # the method's receiver (s Square)
        ("shapes/shapes.go", 13, 29, "Box"),  # the result type
        ("shapes/shapes.go", 14, 8, "Box"),  # Square{Side: side}; the key Side stays
    ]


@pytest.mark.parametrize(
    ("new_name", "message"),
    [
        ("newSquare", r"'newSquare' would not be exported, but cmd/main.go use it"),
        ("Twice", "already defined or imported in shapes"),
        ("func", "Go keyword"),
    ],
)
def test_refusals(go, new_name, message):
    with pytest.raises(RefactorError, match=message):
        rename(go, "shapes/shapes.go", at(go, "shapes/shapes.go", 13, "NewSquare"), new_name)


def test_a_method_called_on_values_of_unknown_type_is_refused(go):
    with pytest.raises(RefactorError, match=r"cannot be inferred \(cmd/main.go:14, shapes/more.go:4\)"):
        rename(go, "shapes/shapes.go", at(go, "shapes/shapes.go", 9, "Area"), "Size")
