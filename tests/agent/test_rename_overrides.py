"""Renaming a method renames its override family and every receiver the index can type."""

from __future__ import annotations

import pytest

from agent import RefactorError, rename
from agent.refactor.occurrences import Finder
from agent.refactor.overrides import override_family
from agent.refactor.target import find_target
from tests.agent.refactor_fixtures import at, edits_of, workspace_fixture

AREA_FAMILY = [
    ("shapes/base.py", 2, 8, "size"),  # Shape.area, the base declaration
    ("shapes/base.py", 6, 23, "size"),  # self.area() in Shape.describe
    ("shapes/circle.py", 5, 8, "size"),  # Circle.area overrides it in another file
    ("shapes/square.py", 8, 8, "size"),  # Square.area
    ("shapes/square.py", 13, 8, "size"),  # Tiled(Square).area
    ("shapes/square.py", 14, 23, "size"),  # super().area()
    ("use.py", 11, 27, "size"),  # self.square.area() with self.square = Square(2)
    ("use.py", 15, 17, "size"),  # shape.area() with shape: Shape
    ("use.py", 20, 14, "size"),  # s.area() with s = Square(1)
    ("use.py", 21, 28, "size"),  # Circle().area()
    ("use.py", 21, 46, "size"),  # Tiled(3).area()
]


family = workspace_fixture("family")


@pytest.mark.parametrize(
    ("path", "line", "needle"),
    [
        ("shapes/square.py", 8, "area"),  # from an override in the middle
        ("shapes/base.py", 2, "area"),  # from the base declaration
        ("shapes/circle.py", 5, "area"),  # from a sibling override
        ("use.py", 21, "area"),  # from a use on a constructed object: Circle().area()
        ("shapes/square.py", 14, "area"),  # from super().area()
    ],
)
def test_the_whole_override_family_and_its_typed_receivers_are_renamed(family, path, line, needle):
    change = rename(family, path, at(family, path, line, needle), "size")
    assert edits_of(change) == AREA_FAMILY
    # not renamed: Other.area (no common base) and Other().area()


def test_a_same_named_method_outside_the_hierarchy_is_renamed_alone(family):
    change = rename(family, "shapes/circle.py", at(family, "shapes/circle.py", 10, "area"), "size")
    assert edits_of(change) == [("shapes/circle.py", 10, 8, "size"), ("use.py", 21, 63, "size")]


def test_the_family_is_found_through_relative_and_absolute_imports(family):
    finder = Finder(family)
    _, target = find_target(finder, "shapes/base.py", at(family, "shapes/base.py", 2, "area"))
    members = override_family(finder, target)
    assert [(m.path, m.definition.qualified_name) for m in members] == [
        ("shapes/base.py", "Shape.area"),
        ("shapes/circle.py", "Circle.area"),
        ("shapes/square.py", "Square.area"),
        ("shapes/square.py", "Tiled.area"),
    ]


def test_a_name_one_class_of_the_family_already_has_is_refused(family):
    with pytest.raises(RefactorError, match=r"'describe' already exists in Circle \(shapes/base.py:5\)"):
        rename(family, "shapes/circle.py", at(family, "shapes/circle.py", 5, "area"), "describe")


def test_a_use_on_an_object_of_unknown_class_still_refuses_the_rename(family):
    with pytest.raises(RefactorError, match=r"cannot be inferred \(use\.py:25\)"):
        rename(family, "shapes/base.py", at(family, "shapes/base.py", 5, "describe"), "show")


def test_typescript_override_super_this_and_new_receivers(family):
    change = rename(family, "web/animals.ts", at(family, "web/animals.ts", 2, "speak"), "talk")
    assert edits_of(change) == [
        ("web/animals.ts", 2, 2, "talk"),  # Animal.speak
        ("web/animals.ts", 7, 16, "talk"),  # this.speak() + this.speak()
        ("web/animals.ts", 7, 31, "talk"),
        ("web/animals.ts", 12, 2, "talk"),  # Dog.speak overrides it
        ("web/animals.ts", 13, 27, "talk"),  # super.speak()
        ("web/zoo.ts", 4, 19, "talk"),  # new Dog().speak(); new Robot().speak() stays
    ]
