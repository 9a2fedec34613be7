"""Static cross-file diagnostics and the model review, over real indexes of the fixture repos and a
real HTTP model server (tests/engine/openai_stub_server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import Range, Workspace, apply_edits
from agent.diagnose import Finding, diagnose, parse_review, review
from tests.agent.test_navigate import open_fixture, scripted_model
from tests.engine.openai_stub_server import Reply, chat_chunk

BROKEN = """\
from pkg.models import Cartt, Item
from pkg.nothere import x
from .sibling import y
from .mian import checkout
from pkg import pricing
import pkg.pricing as pp
from pkg.pricing import total, report
from pkg.models import Cart

value = pricing.totl(Cartt())
pp.report(None, 1)
total(Cart(), 0.1, 5)
total(cart=None, rebate=1)
report()
Cart("bob", "x")
Item()
Item("a", 1.0, 3)
total(*[1, 2, 3, 4])
report(**{})
total(Cart(), discount=0.5)
Item(name="a", price=2.0)
"""


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = open_fixture(tmp_path, "shop")
    yield ws
    ws.close()


def brief(findings: list[Finding]) -> list[tuple[str, int, int, int]]:
    return [(f.code, f.range.start.line, f.range.start.column, f.range.end.column) for f in findings]


def test_clean_fixture_has_no_findings(shop: Workspace) -> None:
    """Guarded imports, __getattr__ modules, star re-exports, third-party and stdlib imports, dataclass
    and class calls that fit: nothing to report."""
    assert {path: diagnose(shop, path) for path in shop.index.store.paths()} == {
        path: [] for path in shop.index.store.paths()
    }


def test_broken_file_exact_findings(shop: Workspace) -> None:
    (shop.root / "app/broken.py").write_text(BROKEN, encoding="utf-8")
    shop.build_index()
    findings = diagnose(shop, "app/broken.py")
    assert brief(findings) == [
        ("unknown-import-name", 0, 23, 28),
        ("unresolved-import", 1, 5, 16),
        ("unresolved-import", 2, 5, 13),
        ("unresolved-import", 3, 5, 10),
        ("unknown-module-attribute", 9, 16, 20),
        ("call-arguments", 10, 0, 9),
        ("call-arguments", 11, 0, 5),
        ("call-arguments", 12, 0, 5),
        ("call-arguments", 13, 0, 6),
        ("call-arguments", 14, 0, 4),
        ("call-arguments", 15, 0, 4),
        ("call-arguments", 16, 0, 4),
    ]
    messages = [f.message for f in findings]
    assert messages[0] == "'Cartt' is not defined in pkg.models (pkg/models.py)"
    assert messages[1] == "cannot resolve import 'pkg.nothere': no such module in the workspace"
    assert messages[4] == "'totl' is not defined in module pricing (pkg/pricing.py)"
    assert messages[7] == (
        "total(...): got an unexpected keyword argument 'rebate'; it takes (cart, discount=…), "
        "defined at pkg/pricing.py:7"
    )
    assert messages[9] == "Cart(...): too many positional arguments; it takes (owner=…), defined at pkg/models.py:13"
    assert messages[10] == (
        "Item(...): missing a required argument: 'name'; it takes (name, price=…), defined at pkg/models.py:6"
    )
    assert {f.severity for f in findings} == {"error"}


def test_quick_fixes_name_the_closest_existing_name(shop: Workspace) -> None:
    (shop.root / "app/broken.py").write_text(BROKEN, encoding="utf-8")
    shop.build_index()
    findings = {(f.code, f.range.start.line): f for f in diagnose(shop, "app/broken.py")}
    misspelled = findings[("unknown-import-name", 0)].fix
    assert misspelled.label == "Import 'Cart' instead of 'Cartt'"
    (change,) = misspelled.files
    fixed = apply_edits(BROKEN, change.edits)
    assert fixed.splitlines()[0] == "from pkg.models import Cart, Item"
    assert fixed.splitlines()[9] == "value = pricing.totl(Cart())"  # the file's use follows
    module = findings[("unresolved-import", 3)].fix
    assert apply_edits(BROKEN, module.files[0].edits).splitlines()[3] == "from .main import checkout"
    assert findings[("unresolved-import", 1)].fix is None  # nothing close to 'nothere'


def test_function_removed_in_an_unsaved_buffer_of_another_file(shop: Workspace) -> None:
    """The importer is judged against the buffer, not the disk, of the module it imports from."""
    pricing = shop.index.source_text("pkg/pricing.py")
    shop.index.update("pkg/pricing.py", pricing.replace("def report(", "def summary("))
    assert brief(diagnose(shop, "app/main.py")) == [("unknown-module-attribute", 15, 62, 68)]
    shop.index.close_buffer("pkg/pricing.py")
    assert diagnose(shop, "app/main.py") == []


def test_name_removed_from_a_module_breaks_its_importers(shop: Workspace) -> None:
    models = shop.index.source_text("pkg/models.py")
    shop.index.update("pkg/models.py", models.replace("class Item:", "class Article:"))
    (finding,) = diagnose(shop, "pkg/__init__.py")
    assert (finding.code, finding.range.start.line, finding.message) == (
        "unknown-import-name",
        1,
        "'Item' is not defined in .models (pkg/models.py)",
    )


def test_typescript_relative_imports(tmp_path: Path) -> None:
    ws = open_fixture(tmp_path, "web")
    try:
        assert diagnose(ws, "src/main.ts") == []  # a package, a stylesheet, and names that exist
        (ws.root / "src/broken.ts").write_text(
            'import { slugg, VERSION } from "./util";\nimport { x } from "./nothere";\n', encoding="utf-8"
        )
        ws.build_index()
        assert brief(diagnose(ws, "src/broken.ts")) == [
            ("unknown-import-name", 0, 9, 14),
            ("unresolved-import", 1, 19, 28),
        ]
    finally:
        ws.close()


def test_files_outside_the_checked_languages(shop: Workspace) -> None:
    (shop.root / "notes.md").write_text("# nothing to check\n", encoding="utf-8")
    shop.build_index()
    assert diagnose(shop, "notes.md") == []
    with pytest.raises(ValueError, match="outside the workspace"):
        diagnose(shop, "../elsewhere.py")


# -- the model review ---------------------------------------------------------------------------

LINES = ["def f(x):", "    return x +", "", "print(f(1))"]


def test_parse_review_keeps_valid_issues_only() -> None:
    reply = json.dumps(
        {
            "issues": [
                {"start_line": 2, "end_line": 2, "severity": "error", "message": "incomplete expression",
                 "fix": {"replacement": "    return x + 1"}},
                {"start_line": 0, "end_line": 1, "message": "line 0 does not exist"},
                {"start_line": 4, "end_line": 9, "message": "past the end"},
                {"start_line": 3, "end_line": 2, "message": "inverted"},
                {"start_line": "1", "end_line": 1, "message": "a string is no line"},
                {"start_line": 1, "end_line": 1, "message": ""},
                {"start_line": 4, "end_line": 4, "severity": "fatal", "message": "odd severity",
                 "fix": {"start_line": 7, "end_line": 7, "replacement": "x"}},
                "not an object",
            ]
        }
    )
    findings = parse_review("a.py", LINES, reply)
    assert [(f.range, f.severity, f.message) for f in findings] == [
        (Range.of(1, 0, 1, 14), "error", "incomplete expression"),
        (Range.of(3, 0, 3, 11), "warning", "odd severity"),
    ]
    assert findings[1].fix is None  # its fix pointed outside the file
    fix = findings[0].fix
    assert fix.needs_confirmation
    assert apply_edits("\n".join(LINES), fix.files[0].edits) == "def f(x):\n    return x + 1\n\nprint(f(1))"


@pytest.mark.parametrize(
    "reply",
    [
        "The code looks fine.",
        '{"issues": "none"}',
        '[{"start_line": 1, "end_line": 1, "message": "a bare list"}]',
        'Here you go: {"issues": []}',
        '```json\n{"issues": [{"start_line": 1}\n```',
    ],
)
def test_parse_review_rejects_what_is_not_the_json_asked_for(reply: str) -> None:
    assert parse_review("a.py", LINES, reply) == []


def test_parse_review_accepts_one_fenced_block() -> None:
    reply = '```json\n{"issues": [{"start_line": 4, "end_line": 4, "message": "prints"}]}\n```'
    (finding,) = parse_review("a.py", LINES, reply)
    assert (finding.code, finding.range.start.line) == ("review", 3)


@pytest.mark.asyncio
async def test_review_against_a_real_http_model(shop: Workspace) -> None:
    async with scripted_model() as (server, backend):
        issues = {
            "issues": [
                {"start_line": 13, "end_line": 13, "severity": "warning", "message": "owner is never checked",
                 "fix": {"replacement": "    cart = Cart(owner or 'anonymous')"}},
                {"start_line": 99, "end_line": 99, "message": "hallucinated line"},
            ]
        }
        text = json.dumps(issues)
        server.script(
            "/v1/chat/completions",
            Reply.sse(chat_chunk(text[:40]), chat_chunk(text[40:]), chat_chunk(finish="stop")),
        )
        findings = await review(shop, "app/main.py", Range.of(11, 0, 15, 0), backend)
        assert [(f.range.start.line, f.message) for f in findings] == [(12, "owner is never checked")]
        (request,) = server.bodies("/v1/chat/completions")
        prompt = request["messages"][1]["content"]
        assert "Changed region: lines 12-16" in prompt
        assert "   13 |     cart = Cart(owner)" in prompt
        with pytest.raises(ValueError, match="outside"):
            await review(shop, "app/main.py", Range.of(50, 0, 60, 0), backend)


def test_a_module_importing_a_name_like_itself(shop: Workspace) -> None:
    """``from pkg.slug import slug`` names the function, not the submodule: removing it is an error."""
    (shop.root / "pkg/slug.py").write_text("def slug(text):\n    return text.lower()\n", encoding="utf-8")
    (shop.root / "app/use.py").write_text("from pkg.slug import slug\n\nslug('A')\n", encoding="utf-8")
    shop.build_index()
    assert diagnose(shop, "app/use.py") == []
    shop.index.update("pkg/slug.py", "def lower(text):\n    return text.lower()\n")
    assert brief(diagnose(shop, "app/use.py")) == [("unknown-import-name", 0, 21, 25)]


def test_what_only_run_time_can_know_is_never_reported(shop: Workspace) -> None:
    """Each of these once produced a false report on real code (CPython's standard library)."""
    files = {
        # a module writing its own namespace (inspect's CO_* flags, re's enum flags)
        "pkg/flags.py": "_ns = globals()\nfor _name in ('A', 'B'):\n    _ns['FLAG_' + _name] = 1\n",
        # a module taking its names from outside the workspace (lzma's `from _lzma import *`)
        "pkg/native.py": "from _native_ext import *\n",
        # the same name defined elsewhere must not stand in for it
        "app/other.py": "class Compressor:\n    def __init__(self):\n        pass\n",
        # a positional-only parameter next to **kwargs (collections.Counter)
        "pkg/counter.py": "def count(iterable=None, /, **kwds):\n    return iterable, kwds\n",
        # a package deep below the root, importable only by path games (test data)
        "tests/data/deep/foo/__init__.py": "VALUE = 1\n",
        "app/tricky.py": (
            "import foo\n"
            "from pkg.flags import FLAG_A\n"
            "from pkg import flags\n"
            "from pkg.native import Compressor\n"
            "from pkg.counter import count\n"
            "from pkg import __doc__, __file__\n"
            "\n"
            "print(FLAG_A, flags.FLAG_B, foo.loads, __doc__, __file__)\n"
            "Compressor(9, preset=1)\n"
            "count(iterable=[1], extra=2)\n"
        ),
    }
    for path, text in files.items():
        (shop.root / path).parent.mkdir(parents=True, exist_ok=True)
        (shop.root / path).write_text(text, encoding="utf-8")
    shop.build_index()
    assert diagnose(shop, "app/tricky.py") == []
    (shop.root / "app/tricky.py").write_text("from pkg.counter import count\n\ncount(1, 2)\n", encoding="utf-8")
    shop.build_index()
    assert brief(diagnose(shop, "app/tricky.py")) == [("call-arguments", 2, 0, 5)]
