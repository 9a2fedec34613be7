"""Moving a top-level TypeScript definition to another module, checked as whole file texts."""

from __future__ import annotations

import pytest

from agent import RefactorError, move_definition
from agent.refactor.move_js import relative_specifier
from agent.refactor.validate import proposed_texts
from tests.agent.refactor_fixtures import at, snapshot, workspace_fixture

tsmove = workspace_fixture("tsmove")
SHAPES_AFTER = (
    'import { round } from "./util";\n'
    'import type { Size, Unit } from "./types";\n'
    'import { area } from "./geometry/area";\n\n'  # describe still calls area: imported back
    'export function describe(s: Size): string {\n  return "area " + area(s, "cm");\n}\n'
)
MOVED = (
    "// The area of a square, rounded.\n"  # the comment above comes along
    "export function area(s: Size, unit: Unit): string {\n  return round(s.w * s.w) + unit;\n}\n"
)


def texts_after(ws, change) -> dict[str, str]:
    return {path: after for path, (_, after) in proposed_texts(ws, change).items()}


def test_move_to_a_new_module_repoints_imports_reexports_and_the_moved_code_s_own_imports(tsmove):
    change = move_definition(tsmove, "src/shapes.ts", at(tsmove, "src/shapes.ts", 5, "area"), "src/geometry/area.ts")
    assert change.label == "Move 'area' to src/geometry/area.ts"
    assert [f.path for f in change.files if f.create] == ["src/geometry/area.ts"]
    assert texts_after(tsmove, change) == {
        "src/geometry/area.ts": 'import { round } from "../util";\n'
        'import type { Size, Unit } from "../types";\n\n' + MOVED,
        "src/shapes.ts": SHAPES_AFTER,
        "src/app.ts": 'import { describe as d } from "./shapes";\n'  # the other name stays
        'import { area } from "./geometry/area";\n'
        'import { area as measure } from "./geometry/area.js";\n'  # the .js style and the alias kept
        'export { area } from "./geometry/area";\n\n'  # the re-export
        "export function main(): string {\n"
        '  return area({ w: 2 }, "cm") + d({ w: 1 }) + measure({ w: 3 }, "in");\n}\n',
        "src/lib/deep.ts": 'import { area } from "../geometry/area";\n\nexport const big = area({ w: 10 }, "in");\n',
    }  # src/viaapp.ts imports it through app.ts's re-export, which still provides it: untouched


def test_move_into_a_module_that_imported_it_makes_it_local_there(tsmove):
    change = move_definition(tsmove, "src/shapes.ts", at(tsmove, "src/shapes.ts", 5, "area"), "src/lib/deep.ts")
    texts = texts_after(tsmove, change)
    assert texts["src/lib/deep.ts"] == (
        'import { round } from "../util";\nimport type { Size, Unit } from "../types";\n\n'
        'export const big = area({ w: 10 }, "in");\n\n' + MOVED
    )
    assert texts["src/shapes.ts"] == SHAPES_AFTER.replace("./geometry/area", "./lib/deep")


def test_a_use_through_a_namespace_import_is_refused_and_nothing_is_written(tsmove):
    (tsmove.root / "src/ns.ts").write_text('import * as shapes from "./shapes";\n\nexport const f = shapes.area;\n')
    tsmove.build_index()
    before = snapshot(tsmove)
    with pytest.raises(RefactorError, match=r"through a namespace import at src/ns.ts:3"):
        move_definition(tsmove, "src/shapes.ts", at(tsmove, "src/shapes.ts", 5, "area"), "src/geometry/area.ts")
    assert snapshot(tsmove) == before


def test_code_using_a_definition_that_stays_is_refused(tsmove):
    with pytest.raises(RefactorError, match="'describe' uses 'area', which stays in src/shapes.ts"):
        move_definition(tsmove, "src/shapes.ts", at(tsmove, "src/shapes.ts", 9, "describe"), "src/text.ts")


def test_python_and_typescript_do_not_mix(tsmove):
    with pytest.raises(RefactorError, match="between TypeScript/JavaScript modules"):
        move_definition(tsmove, "src/shapes.ts", at(tsmove, "src/shapes.ts", 5, "area"), "src/area.py")


@pytest.mark.parametrize(
    ("importer", "module", "like", "expected"),
    [
        ("src/app.ts", "src/geometry/area.ts", "./shapes", "./geometry/area"),
        ("src/lib/deep.ts", "src/area.ts", "../shapes", "../area"),
        ("src/app.ts", "src/area.ts", "./shapes.js", "./area.js"),
        ("app.ts", "area.tsx", "./x", "./area"),
    ],
)
def test_relative_specifiers_keep_the_importer_s_style(importer, module, like, expected):
    assert relative_specifier(importer, module, like) == expected
