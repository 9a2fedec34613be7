"""The compiled scanner gives exactly what the pure-Python extraction gives, and guards itself.

Runs whenever ``indexer/native/_scan`` is built (``make install`` builds it); the skip reason
says so when it is not.
"""

from __future__ import annotations

import sysconfig
from functools import cache
from pathlib import Path

import pytest
import tree_sitter_python
from tree_sitter import Language, Parser, Query

from indexer import native
from indexer.extract import Extractor
from indexer.files import decode_source
from indexer.languages import all_languages, language_for_path
from indexer.native.scanner import plain_reference_patterns
from indexer.store import pack_references

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STDLIB = Path(sysconfig.get_paths()["stdlib"])
STDLIB_SAMPLE_SIZE = 60

requires_native = pytest.mark.skipif(
    native.load() is None,
    reason="indexer.native._scan is not built (python -m indexer.native.build; make install runs it)",
)


@cache
def extractors(language: str) -> tuple[Extractor, Extractor]:
    """(native, pure Python) extractors of one language."""
    fast, plain = Extractor(all_languages()[language]), Extractor(all_languages()[language])
    plain._scanner = None
    return fast, plain


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and language_for_path(p) is not None)


def stdlib_sample() -> list[Path]:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts and p.stat().st_size < 400_000)
    return files[:: max(1, len(files) // STDLIB_SAMPLE_SIZE)]


def damaged(source: bytes) -> list[bytes]:
    """The source cut off mid-way and with a stray bracket inserted: trees full of ERROR nodes."""
    middle = len(source) // 2
    return [source[:middle], source[:middle] + b"(\n" + source[middle:]]


@pytest.fixture(params=["planned", "every deep candidate rescanned"])
def rescan_cost(request):
    """Runs a test with the scanner's own plan, and with rescans made free: the query then runs
    under many more separate nodes, which must still add up to one full run."""
    scanners = [extractors(language)[0]._scanner for language in all_languages()]
    kept = [scanner.rescan_cost for scanner in scanners]
    if request.param != "planned":
        for scanner in scanners:
            scanner.rescan_cost = 0
    yield
    for scanner, cost in zip(scanners, kept, strict=True):
        scanner.rescan_cost = cost


def assert_same(path: Path, source: bytes) -> None:
    fast, plain = extractors(language_for_path(path).name)
    tree = fast.parse(source)
    native_parsed, native_refs = fast.extract_packed(tree, source)
    plain_parsed, plain_refs = plain.extract_packed(tree, source)
    assert native_parsed == plain_parsed, path
    assert list(native_refs.items()) == list(plain_refs.items()), path  # same names, order and bytes
    listed = fast.extract(tree, source)
    assert pack_references(listed.references) == native_refs
    assert list(listed.references) == list(native_refs)


@requires_native
def test_every_language_takes_the_native_path():
    for language in all_languages():
        assert extractors(language)[0]._scanner is not None, language


@requires_native
@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_native_extraction_equals_pure_python_on_fixtures(path, rescan_cost):
    source, _ = decode_source(path.read_bytes())
    assert_same(path, source)
    for broken in damaged(source):
        assert_same(path, broken)


@requires_native
def test_native_extraction_equals_pure_python_on_a_stdlib_sample(rescan_cost):
    sample = stdlib_sample()
    assert len(sample) >= STDLIB_SAMPLE_SIZE // 2
    for path in sample:
        source, _ = decode_source(path.read_bytes())
        assert_same(path, source)


@requires_native
def test_definitions_nested_deep_in_code_are_found_by_the_narrowed_query(rescan_cost):
    lines = ["class Outer:", "    field = 1", "    def method(self):"]
    lines += [f"{'    ' * (2 + depth)}if x{depth}:" for depth in range(12)]
    lines += [f"{'    ' * 14}def deep():", f"{'    ' * 15}class Inner:", f"{'    ' * 16}attr = deep"]
    source = "\n".join(lines + [""]).encode()
    assert_same(Path("deep.py"), source)
    fast, _ = extractors("python")
    names = [d.qualified_name for d in fast.extract(fast.parse(source), source).definitions]
    assert names == ["Outer", "Outer.field", "Outer.method", "Outer.method.deep", "Outer.method.deep.Inner",
                     "Outer.method.deep.Inner.attr"]  # fmt: skip


# Docs in every place a language's hook looks (the compiled pass calls the hook only where its
# spec says text can be), signatures with tabs, unicode spaces and braces.
DOC_PLACES = {
    "docs.py": (
        "# above a decorator\n@decorate\ndef decorated():\n    pass\n\n"
        "@decorate\n# between decorator and def\ndef between():\n    pass\n\n"
        "def commented_body():\n    # a comment first\n    'then a string'\n\n"
        "def call_first():\n    print('not a doc')\n\n"
        "def escaped():\n    'tab\\there'\n\n"
        "class Holder:\n    # about the first\n    first = 0\n"
        "    # about the field\n    field = 1\n    other = 2  # trailing\n"
        '    def method(self):  # trailing too\n        """Doc."""\n\n'
        "# about a module value\nvalue = 3\n"
        "class Trailing:  # on the class line\n    def first_method(self):\n        pass\n"
        "class Commented:\n    # about the method\n    def commented_method(self):\n        pass\n"
        "def\tspaced ( a ,\n\t\tb )\u2003->\u00a0int :\n    return a\n"
    ),
    "docs.ts": (
        "// above export\nexport function shown(): void {}\n\n"
        "/** block\n * doc */\nclass Block {\n  // member\n  @dec\n  method() {}\n}\n"
        "/* same line */ function inline() {}\nconst arrow = () => {}; // after\n"
    ),
    "docs.c": (
        "/* about a type */\ntypedef struct point {\n\tint x;\n} point_t;\n// a function\nint f(int a) { return a; }\n"
    ),
    "docs.go": "package p\n\n//go:embed x\n// Shown.\nfunc Shown() {}\n\n// A group\nvar (\n\tone = 1\n)\n",
    "docs.java": "class A {\n  /** Javadoc. */ void inline() {}\n  /**\n   * Above.\n   */\n  int field, other;\n}\n",
    "docs.rs": "/// Outer doc\n#[derive(Debug)]\n/// after the attribute\nstruct S {}\n//! inner\nfn f() {}\n",
}


@requires_native
@pytest.mark.parametrize("name", sorted(DOC_PLACES))
def test_docs_and_signatures_in_every_place_equal_pure_python(name):
    source = DOC_PLACES[name].encode()
    assert_same(Path(name), source)
    fast, _ = extractors(language_for_path(name).name)
    docs = {d.name: d.doc for d in fast.extract(fast.parse(source), source).definitions}
    if name == "docs.py":  # docs where the hook is called only after the pass's own test
        assert docs["decorated"] == "above a decorator" and docs["commented_body"] == "then a string"
        assert docs["field"] == "about the field" and docs["method"] == "Doc."
        assert docs["value"] == "about a module value" and docs["escaped"] == "tab\there"
        assert docs["first"] == "about the first" and docs["other"] == ""  # above a block's first statement
        assert docs["commented_method"] == "about the method" and docs["first_method"] == ""


def test_only_plain_reference_patterns_are_taken_over():
    language = Language(tree_sitter_python.language())
    source = "(function_definition name: (identifier) @name) @definition.function\n(identifier) @reference\n"
    assert plain_reference_patterns(Query(language, source), source.encode()) == {1: "identifier"}
    other = source + "(call function: (attribute) @reference)\n"
    assert plain_reference_patterns(Query(language, other), other.encode()) is None


@requires_native
def test_a_query_with_other_reference_captures_stays_in_pure_python():
    language = Language(tree_sitter_python.language())
    query = "(call function: (identifier) @reference)\n(identifier) @reference\n"
    assert native.Scanner.build(native.load(), language, query, frozenset()) is None


@requires_native
def test_pattern_roots_are_the_node_types_where_enabled_patterns_start():
    language = Language(tree_sitter_python.language())
    source = "(function_definition name: (identifier) @name) @f\n[(import_statement) (module)] @i\n(identifier) @r"
    query = Query(language, source)
    query.disable_pattern(2)
    kinds = {language.node_kind_for_id(symbol) for symbol in native.load().pattern_roots(query)}
    assert kinds == {"function_definition", "import_statement", "module"}
    assert native.load().pattern_roots(Query(language, "(_ (identifier) @name) @d")) is None


@requires_native
def test_scan_rejects_what_is_not_a_tree_or_not_its_source():
    module = native.load()
    tree = Parser(Language(tree_sitter_python.language())).parse(b"value = other_name\n")
    flags = bytes([1] * 300)
    with pytest.raises(TypeError):
        module.scan(object(), b"", flags, frozenset(), -1)
    with pytest.raises(ValueError):
        module.scan(tree, b"v", flags, frozenset(), -1)
    occurrences, names, depth, deep = module.scan(tree, b"value = other_name\n", flags, frozenset(), -1)
    assert depth == -1 and deep == []
    with pytest.raises(ValueError):
        module.pack(occurrences, names[:1], [], True)


@requires_native
def test_a_scanner_that_reads_trees_differently_is_not_used():
    fast, plain = extractors("python")
    source = b"def f(a):\n    return a + g(a)\n"
    tree = fast.parse(source)
    assert fast._scanner.fits(tree)
    fresh = Extractor(all_languages()["python"])
    fresh._scanner._fits = False  # as if the first tree had read back differently
    assert fresh.extract_packed(tree, source) == plain.extract_packed(tree, source)
    assert "query" in vars(fresh)  # it took the pure-Python path, which compiles the whole query


@requires_native
def test_a_module_built_for_another_tree_sitter_is_not_used(monkeypatch):
    native.load.cache_clear()
    monkeypatch.setattr(native.importlib.metadata, "version", lambda name: "0.0.0")
    try:
        assert native.load() is None
    finally:
        monkeypatch.undo()
        native.load.cache_clear()
    assert native.load() is not None
