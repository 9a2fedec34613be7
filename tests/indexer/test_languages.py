"""Every language module extracts the right definitions, docs, imports and references.

Each language runs over a small fixture repository under ``tests/fixtures/repos/<language>``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import tree_sitter_go
from tree_sitter import Language, QueryCursor

from indexer.extract import Extractor
from indexer.languages import language_for_path, language_named
from indexer.model import Definition, Import, ImportedName, ParsedFile, innermost_definition

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@cache
def extractor(language: str) -> Extractor:
    return Extractor(language_named(language))


def parse(language: str, path: str) -> ParsedFile:
    source = (REPOS / path).read_bytes()
    ex = extractor(language)
    return ex.extract(ex.parse(source), source)


def definitions(parsed: ParsedFile) -> list[tuple[str, str, str, int, int]]:
    return [(d.name, d.qualified_name, d.kind, d.start_line, d.end_line) for d in parsed.definitions]


def definition(parsed: ParsedFile, qualified_name: str, kind: str | None = None) -> Definition:
    return next(
        d for d in parsed.definitions if d.qualified_name == qualified_name and kind in (None, d.kind)
    )


def references(parsed: ParsedFile, name: str) -> list[tuple[int, str | None]]:
    """``(line, qualified name of the innermost enclosing definition)`` for each occurrence."""
    flat = parsed.references.get(name, [])
    spans = sorted((d.start_line, d.end_line, i) for i, d in enumerate(parsed.definitions))
    found = []
    for line in sorted(flat[::2]):
        enclosing = innermost_definition(spans, line)
        found.append((line, parsed.definitions[enclosing].qualified_name if enclosing >= 0 else None))
    return found


FIXTURE_FILES = sorted(
    str(path.relative_to(REPOS))
    for path in REPOS.rglob("*")
    if path.is_file() and language_for_path(path) is not None
)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.js", "javascript"), ("a.jsx", "javascript"), ("a.mjs", "javascript"), ("a.cjs", "javascript"),
        ("a.ts", "typescript"), ("a.mts", "typescript"), ("a.cts", "typescript"), ("types.d.ts", "typescript"),
        ("App.tsx", "tsx"), ("main.go", "go"), ("lib.rs", "rust"), ("Main.java", "java"),
        ("a.c", "c"), ("a.h", "c"), ("a.cc", "cpp"), ("a.cpp", "cpp"), ("a.cxx", "cpp"), ("a.c++", "cpp"),
        ("a.hpp", "cpp"), ("a.hh", "cpp"), ("a.hxx", "cpp"), ("a.h++", "cpp"), ("dir/A.CPP", "cpp"),
    ],
)
def test_language_for_path_maps_each_extension(path, language):
    spec = language_for_path(path)
    assert spec is not None and spec.name == language


def test_language_for_path_ignores_other_files():
    assert language_for_path("notes.txt") is None
    assert language_for_path("Makefile") is None


@pytest.mark.parametrize("path", FIXTURE_FILES)
def test_fixture_parses_cleanly_and_every_definition_pairs_with_its_name(path):
    ex = extractor(language_for_path(path).name)
    source = (REPOS / path).read_bytes()
    tree = ex.parse(source)
    assert not tree.root_node.has_error
    captures = QueryCursor(ex.query).captures(tree.root_node)
    nodes = sorted(
        (node for capture, found in captures.items() if capture.startswith("definition.") for node in found),
        key=lambda node: (node.start_byte, -node.end_byte),
    )
    names = sorted(captures.get("name", []), key=lambda node: node.start_byte)
    assert len(nodes) == len(names)
    for node, name in zip(nodes, names, strict=True):
        assert node.start_byte <= name.start_byte and name.end_byte <= node.end_byte


@pytest.mark.parametrize("path", FIXTURE_FILES)
def test_extraction_survives_truncated_and_damaged_source(path):
    ex = extractor(language_for_path(path).name)
    source = (REPOS / path).read_bytes()
    for cut in range(0, len(source), 31):
        for damaged in (source[:cut], source[cut:], source[:cut] + b"\n" + source[cut + 5 :]):
            ex.extract(ex.parse(damaged), damaged)


def test_go_other_types_cover_the_grammar():
    from indexer.languages.go import _OTHER_TYPES

    language = Language(tree_sitter_go.language())
    simple = next(s for s in language.supertypes if language.node_kind_for_id(s) == "_simple_type")
    kinds = {language.node_kind_for_id(kind) for kind in language.subtypes(simple)}
    expected = kinds - {"struct_type", "interface_type"} | {"parenthesized_type"}
    assert {f"({kind})" for kind in expected} == set(_OTHER_TYPES.strip("[]\n ").split())


# JavaScript


def test_javascript_definitions():
    parsed = parse("javascript", "javascript/src/cart.js")
    assert definitions(parsed) == [
        ("TAX_RATE", "TAX_RATE", "variable", 4, 4),
        ("instances", "instances", "variable", 5, 5),
        ("Cart", "Cart", "class", 8, 24),
        ("items", "Cart.items", "field", 9, 9),
        ("add", "Cart.add", "method", 15, 18),
        ("total", "Cart.total", "method", 20, 23),
        ("render", "render", "function", 27, 27),
        ("ids", "ids", "function", 29, 31),
    ]
    assert definitions(parse("javascript", "javascript/src/math.cjs")) == [
        ("path", "path", "variable", 1, 1),
        ("round", "round", "function", 3, 6),
        ("clamp", "clamp", "function", 8, 8),
    ]
    assert definitions(parse("javascript", "javascript/src/format.js")) == [
        ("formatPrice", "formatPrice", "function", 4, 6),
        ("currency", "currency", "function", 8, 10),
    ]


def test_javascript_docs_signatures_and_references():
    parsed = parse("javascript", "javascript/src/cart.js")
    cart = definition(parsed, "Cart")
    assert (cart.doc, cart.signature) == ("A cart holding line items.", "class Cart")
    add = definition(parsed, "Cart.add")
    assert add.doc == "Add an item to the cart.\n@param {{name: string, price: number}} item"
    assert add.signature == "add(item)"
    render = definition(parsed, "render")
    assert render.doc == "Render the cart total for display."
    assert render.signature == "render = (cart) => fmt(cart.total())"
    assert references(parsed, "fmt") == [(1, None), (27, "render")]
    assert references(parsed, "TAX_RATE") == [(22, "Cart.total")]
    assert references(parsed, "info") == [(17, "Cart.add")]


def test_javascript_imports():
    assert parse("javascript", "javascript/src/cart.js").imports == [
        Import("./format.js", 1, names=(ImportedName("formatPrice", "fmt"),)),
        Import("./log.js", 2, alias="log"),
    ]
    assert parse("javascript", "javascript/src/index.jsx").imports == [
        Import("core-js/stable", 1),
        Import("./cart.js", 2, names=(ImportedName("default", "Cart"), ImportedName("TAX_RATE"))),
        Import("./cart.js", 4, names=(ImportedName("*"),), reexport=True),
        Import("./format.js", 5, names=(ImportedName("formatPrice", "format"),), reexport=True),
        Import("./log.js", 6, alias="log", reexport=True),
    ]
    assert parse("javascript", "javascript/src/format.js").imports == [
        Import("./math.cjs", 1, names=(ImportedName("round"), ImportedName("clamp", "limit"))),
    ]
    assert parse("javascript", "javascript/src/math.cjs").imports == [Import("path", 1, alias="path")]


# TypeScript


def test_typescript_definitions():
    assert definitions(parse("typescript", "typescript/src/shapes.ts")) == [
        ("BaseShape", "BaseShape", "class", 4, 13),
        ("name", "BaseShape.name", "field", 5, 5),
        ("color", "BaseShape.color", "field", 6, 6),
        ("area", "BaseShape.area", "method", 8, 8),
        ("describe", "BaseShape.describe", "method", 10, 12),
        ("Circle", "Circle", "class", 16, 26),
        ("name", "Circle.name", "field", 17, 17),
        ("constructor", "Circle.constructor", "method", 19, 21),
        ("area", "Circle.area", "method", 23, 25),
        ("Geometry", "Geometry", "module", 28, 33),
        ("PI", "Geometry.PI", "variable", 29, 29),
        ("degrees", "Geometry.degrees", "function", 30, 32),
        ("make", "make", "function", 35, 35),
        ("make", "make", "function", 36, 36),
        ("make", "make", "function", 37, 39),
        ("isShape", "isShape", "function", 41, 42),
    ]
    assert definitions(parse("typescript", "typescript/src/types.ts")) == [
        ("Shape", "Shape", "interface", 2, 6),
        ("name", "Shape.name", "field", 3, 3),
        ("area", "Shape.area", "method", 5, 5),
        ("ShapeKind", "ShapeKind", "type", 8, 8),
        ("Color", "Color", "enum", 10, 13),
    ]
    assert definitions(parse("typescript", "typescript/src/globals.d.ts")) == [
        ("BUILD_ID", "BUILD_ID", "variable", 1, 1),
        ("track", "track", "function", 2, 2),
        ("legacy-charts", "legacy-charts", "module", 4, 6),
        ("draw", "legacy-charts.draw", "function", 5, 5),
    ]


def test_tsx_definitions_skip_inline_object_type_members():
    assert definitions(parse("tsx", "typescript/src/App.tsx")) == [
        ("Props", "Props", "interface", 4, 6),
        ("radius", "Props.radius", "field", 5, 5),
        ("App", "App", "function", 8, 11),
        ("Label", "Label", "function", 13, 13),
    ]


def test_typescript_method_decorators_and_overloads():
    parsed = parse("typescript", "typescript/src/service.ts")
    assert definitions(parsed) == [
        ("logged", "logged", "function", 1, 3),
        ("Service", "Service", "class", 5, 12),
        ("run", "Service.run", "method", 7, 8),
        ("stop", "Service.stop", "method", 10, 10),
        ("stop", "Service.stop", "method", 11, 11),
    ]
    assert definition(parsed, "Service.run").doc == "Runs the service."
    assert references(parsed, "logged") == [(7, "Service.run")]
    assert references(parsed, "track") == [(2, "logged")]  # declared in globals.d.ts


def test_typescript_docs_signatures_and_references():
    types = parse("typescript", "typescript/src/types.ts")
    assert definition(types, "Shape").doc == "Anything with an area."
    area = definition(types, "Shape.area")
    assert (area.doc, area.signature) == ("Area in square units.", "area(): number")
    shapes = parse("typescript", "typescript/src/shapes.ts")
    circle = definition(shapes, "Circle")
    assert (circle.doc, circle.signature) == ("A circle of a given radius.", "class Circle extends BaseShape")
    overloads = [d.signature for d in shapes.definitions if d.name == "make"]
    assert overloads[0] == "function make(kind: 'circle', size: number): Circle;"
    assert references(shapes, "Geometry") == [(24, "Circle.area")]
    assert references(shapes, "ShapeKind") == [(1, None), (36, "make"), (37, "make")]
    app = parse("tsx", "typescript/src/App.tsx")
    assert references(app, "Circle") == [(2, None), (9, "App")]


def test_typescript_imports():
    assert parse("typescript", "typescript/src/shapes.ts").imports == [
        Import("./types", 1, names=(ImportedName("Shape"), ImportedName("ShapeKind"))),
        Import("./types", 2, names=(ImportedName("Color"),)),
    ]
    assert parse("typescript", "typescript/src/index.ts").imports == [
        Import("fs", 1, alias="fs"),
        Import("./shapes", 2, names=(ImportedName("*"),), reexport=True),
        Import("./types", 3, names=(ImportedName("Shape"), ImportedName("ShapeKind", "Kind")), reexport=True),
        Import("./types", 4, names=(ImportedName("Color"),), reexport=True),
    ]
    assert parse("tsx", "typescript/src/App.tsx").imports == [
        Import("react", 1, names=(ImportedName("default", "React"), ImportedName("useState"))),
        Import("./shapes", 2, names=(ImportedName("Circle"),)),
    ]


# Go


def test_go_definitions():
    assert definitions(parse("go", "go/store/store.go")) == [
        ("MaxItems", "MaxItems", "constant", 10, 10),
        ("KindFruit", "KindFruit", "constant", 13, 13),
        ("KindVegetable", "KindVegetable", "constant", 14, 14),
        ("ErrNotFound", "ErrNotFound", "variable", 18, 18),
        ("hits", "hits", "variable", 20, 20),
        ("misses", "misses", "variable", 20, 20),
        ("Item", "Item", "struct", 23, 28),
        ("Name", "Item.Name", "field", 24, 24),
        ("Price", "Item.Price", "field", 25, 25),
        ("Tags", "Item.Tags", "field", 27, 27),
        ("Aliases", "Item.Aliases", "field", 27, 27),
        ("Repository", "Repository", "interface", 31, 33),
        ("Get", "Repository.Get", "method", 32, 32),
        ("ID", "ID", "type", 36, 36),
        ("Index", "Index", "type", 37, 37),
        ("Store", "Store", "struct", 41, 44),
        ("mu", "Store.mu", "field", 42, 42),
        ("items", "Store.items", "field", 43, 43),
        ("New", "New", "function", 47, 49),
        ("Get", "Get", "method", 52, 62),
        ("Add", "Add", "method", 64, 68),
    ]
    assert definitions(parse("go", "go/store/embed.go")) == [
        ("catalog", "catalog", "variable", 9, 9),
        ("Alias", "Alias", "type", 11, 11),
        ("Catalog", "Catalog", "function", 13, 13),
    ]


def test_go_docs_signatures_and_references():
    parsed = parse("go", "go/store/store.go")
    get = definition(parsed, "Get", "method")
    assert get.signature == "func (s *Store) Get(name string) (Item, error)"
    assert get.doc == "Get finds an item by name."
    assert definition(parsed, "Item").doc == "Item is something for sale."
    assert definition(parsed, "MaxItems").doc == "MaxItems bounds the size of a store."
    assert definition(parsed, "MaxItems").signature == "MaxItems = 100"
    assert definition(parsed, "Item.Aliases").doc == "Tags label the item."
    assert definition(parse("go", "go/store/embed.go"), "catalog").doc == ""  # a //go: directive
    assert references(parsed, "ErrNotFound") == [(58, "Get")]
    assert references(parsed, "misses") == [(57, "Get")]
    main = parse("go", "go/main.go")
    assert references(main, "store") == [(12, "main"), (13, "main")]


def test_go_imports():
    assert parse("go", "go/main.go").imports == [
        Import("fmt", 4),
        Import("strings", 5, alias="s"),
        Import("example.com/shop/store", 7),
    ]
    assert parse("go", "go/store/embed.go").imports == [
        Import("embed", 4, alias="_"),
        Import("strings", 5, alias="."),
    ]


# Rust


def test_rust_definitions():
    assert definitions(parse("rust", "rust/src/shapes.rs")) == [
        ("Shape", "Shape", "trait", 6, 13),
        ("area", "Shape.area", "method", 8, 8),
        ("name", "Shape.name", "method", 10, 12),
        ("Circle", "Circle", "struct", 18, 22),
        ("radius", "Circle.radius", "field", 21, 21),
        ("Circle", "Circle", "impl", 24, 28),
        ("new", "Circle.new", "method", 25, 27),
        ("Circle", "Circle", "impl", 30, 34),
        ("area", "Circle.area", "method", 31, 33),
        ("Circle", "Circle", "impl", 36, 40),
        ("fmt", "Circle.fmt", "method", 37, 39),
        ("Kind", "Kind", "enum", 42, 45),
        ("PI", "PI", "constant", 47, 47),
        ("CREATED", "CREATED", "variable", 48, 48),
        ("Area", "Area", "type", 49, 49),
        ("square", "square", "macro", 51, 55),
    ]
    assert definitions(parse("rust", "rust/src/util.rs")) == [
        ("clamp", "clamp", "function", 4, 6),
        ("tests", "tests", "module", 8, 16),
        ("clamps_high", "tests.clamps_high", "function", 12, 15),
    ]


def test_rust_docs_signatures_and_references():
    parsed = parse("rust", "rust/src/shapes.rs")
    circle = definition(parsed, "Circle", "struct")
    assert circle.doc == "A circle.\n\nBuilt with [`Circle::new`]."
    assert circle.signature == "pub struct Circle"
    assert definition(parsed, "Shape.area").doc == "Area in square units."
    assert definition(parsed, "Shape.area").signature == "fn area(&self) -> f64;"
    assert definition(parsed, "Circle", "impl").signature == "impl Circle"
    assert references(parsed, "PI") == [(32, "Circle.area")]
    assert references(parsed, "radius") == [
        (25, "Circle.new"), (26, "Circle.new"), (32, "Circle.area"), (32, "Circle.area"), (38, "Circle.fmt"),
    ]
    util = parse("rust", "rust/src/util.rs")
    assert references(util, "clamp") == [(10, "tests"), (14, "tests.clamps_high")]


def test_rust_imports():
    assert parse("rust", "rust/src/main.rs").imports == [
        Import("mod::shapes", 1),
        Import("mod::util", 2),
        Import("std", 4, names=(ImportedName("io"),)),
        Import("std::io", 4, names=(ImportedName("Write"),)),
        Import("shapes", 5, names=(ImportedName("Circle", "C"), ImportedName("Shape"))),
        Import("crate::util", 6, names=(ImportedName("*"),)),
    ]
    assert parse("rust", "rust/src/shapes.rs").imports == [
        Import("std", 1, names=(ImportedName("fmt"),)),
        Import("crate::util", 3, names=(ImportedName("clamp"),), reexport=True),
    ]
    assert parse("rust", "rust/src/util.rs").imports == [
        Import("core", 1, alias="base"),
        Import("super", 10, names=(ImportedName("clamp"),)),
    ]


# Java

JAVA = "java/src/main/java/com/example/shop"


def test_java_definitions():
    assert definitions(parse("java", f"{JAVA}/Cart.java")) == [
        ("Cart", "Cart", "class", 12, 39),
        ("items", "Cart.items", "field", 13, 13),
        ("count", "Cart.count", "field", 14, 14),
        ("limit", "Cart.limit", "field", 14, 14),
        ("Cart", "Cart.Cart", "method", 17, 19),
        ("add", "Cart.add", "method", 22, 29),
        ("price", "Cart.price", "method", 31, 38),
    ]
    assert definitions(parse("java", f"{JAVA}/Prices.java")) == [
        ("Priced", "Priced", "interface", 6, 10),
        ("price", "Priced.price", "method", 7, 7),
        ("CENTS", "Priced.CENTS", "field", 9, 9),
        ("Currency", "Currency", "enum", 12, 25),
        ("symbol", "Currency.symbol", "field", 16, 16),
        ("Currency", "Currency.Currency", "method", 18, 20),
        ("symbol", "Currency.symbol", "method", 22, 24),
        ("Prices", "Prices", "class", 27, 34),
        ("Prices", "Prices.Prices", "method", 28, 28),
        ("round", "Prices.round", "method", 31, 33),
    ]
    assert definitions(parse("java", f"{JAVA}/Item.java")) == [
        ("Item", "Item", "class", 4, 10),
        ("Item", "Item.Item", "method", 5, 9),
    ]


def test_java_docs_signatures_and_references():
    parsed = parse("java", f"{JAVA}/Cart.java")
    cart = definition(parsed, "Cart")
    assert cart.doc == "A shopping cart.\n\n<p>Not thread-safe."
    assert cart.signature == "public class Cart implements Priced"
    add = definition(parsed, "Cart.add")
    assert (add.doc, add.signature) == ("Adds an item unless the cart is full.", "public boolean add(Item item)")
    price = definition(parsed, "Cart.price")
    assert (price.doc, price.signature) == ("", "@Override public double price()")
    items = definition(parsed, "Cart.items")
    assert items.signature == "private final List<Item> items = new ArrayList<>();"
    assert references(parsed, "limit") == [(23, "Cart.add")]
    assert references(parsed, "round") == [(5, None), (37, "Cart.price")]


def test_java_imports():
    assert parse("java", f"{JAVA}/Cart.java").imports == [
        Import("java.util.ArrayList", 3),
        Import("java.util.List", 4),
        Import("com.example.shop.Prices", 5, names=(ImportedName("round"),)),
    ]
    assert parse("java", f"{JAVA}/app/Main.java").imports == [
        Import("com.example.shop", 3, names=(ImportedName("*"),)),
        Import("com.example.shop.Prices", 4, names=(ImportedName("*"),)),
    ]


# C


def test_c_definitions():
    assert definitions(parse("c", "c/src/list.h")) == [
        ("LIST_H", "LIST_H", "macro", 2, 2),
        ("node", "node", "struct", 7, 10),
        ("node_t", "node_t", "type", 7, 10),
        ("visitor_fn", "visitor_fn", "type", 12, 12),
    ]
    assert definitions(parse("c", "c/src/list.c")) == [
        ("ALLOC", "ALLOC", "macro", 4, 4),
        ("list_push", "list_push", "function", 7, 12),
        ("list_length", "list_length", "function", 14, 20),
    ]
    assert definitions(parse("c", "c/src/main.c")) == [
        ("MAX_ITEMS", "MAX_ITEMS", "macro", 4, 4),
        ("mode", "mode", "enum", 6, 6),
        ("number", "number", "struct", 8, 11),
        ("stats", "stats", "struct", 13, 16),
        ("print_value", "print_value", "function", 18, 20),
        ("main", "main", "function", 22, 30),
    ]


def test_c_docs_signatures_and_references():
    header = parse("c", "c/src/list.h")
    assert definition(header, "node_t").doc == "A singly linked list node."
    assert definition(header, "node_t").signature == "node_t"
    source = parse("c", "c/src/list.c")
    push = definition(source, "list_push")
    assert push.doc == "Prepend a value; returns the new head."
    assert push.signature == "node_t *list_push(node_t *head, int value)"
    assert definition(source, "ALLOC").signature == "#define ALLOC(type) ((type *)malloc(sizeof(type)))"
    main = parse("c", "c/src/main.c")
    assert references(main, "list_push") == [(25, "main")]
    assert references(main, "print_value") == [(27, "main")]
    assert references(main, "MAX_ITEMS") == [(24, "main")]


def test_c_imports():
    assert parse("c", "c/src/main.c").imports == [Import("<stdio.h>", 1), Import('"list.h"', 2)]
    assert parse("c", "c/src/list.c").imports == [Import('"list.h"', 1), Import("<stdlib.h>", 2)]


# C++


def test_cpp_definitions():
    assert definitions(parse("cpp", "cpp/src/shape.hpp")) == [
        ("geo", "geo", "namespace", 6, 33),
        ("Shape", "geo.Shape", "class", 9, 14),
        ("~Shape", "geo.Shape.~Shape", "method", 11, 11),
        ("label", "geo.Shape.label", "method", 13, 13),
        ("Circle", "geo.Circle", "class", 16, 23),
        ("Circle", "geo.Circle.Circle", "method", 18, 18),
        ("clamp", "geo.clamp", "function", 26, 29),
        ("Shapes", "geo.Shapes", "type", 31, 31),
    ]
    assert definitions(parse("cpp", "cpp/src/shape.cpp")) == [
        ("geo", "geo", "namespace", 3, 11),
        ("area", "geo.area", "function", 7, 9),
    ]
    assert definitions(parse("cpp", "cpp/src/main.cc")) == [
        ("Point", "Point", "struct", 4, 9),
        ("norm", "Point.norm", "method", 8, 8),
        ("Mode", "Mode", "enum", 11, 11),
        ("total_area", "total_area", "function", 13, 19),
        ("main", "main", "function", 21, 26),
    ]


def test_cpp_docs_signatures_and_references():
    header = parse("cpp", "cpp/src/shape.hpp")
    assert definition(header, "geo.Shape").doc == "Base class of every shape."
    clamp = definition(header, "geo.clamp")
    assert (clamp.doc, clamp.signature) == ("Clamp a value into [low, high].", "T clamp(T value, T low, T high)")
    assert definition(header, "geo.Circle.Circle").signature == "explicit Circle(double radius) : radius_(radius)"
    source = parse("cpp", "cpp/src/shape.cpp")
    assert definition(source, "geo.area").signature == "double Circle::area() const"
    assert references(source, "kPi") == [(5, "geo"), (8, "geo.area")]
    main = parse("cpp", "cpp/src/main.cc")
    assert references(main, "total_area") == [(24, "main")]
    assert references(main, "geo") == [(13, "total_area"), (18, "total_area"), (22, "main"), (23, "main")]


def test_cpp_function_names_behind_pointers_references_and_qualifiers():
    source = b"""\
int *ns::f() { return 0; }
int **g() { return 0; }
int &ns::C::h() { return x; }
int a::b::C::i() { return 0; }
ns::C::~C() {}
bool C::operator==(const C &o) const { return true; }
struct S {
  int *j() { return 0; }
  bool operator<(const S &) const { return false; }
};
"""
    ex = extractor("cpp")
    parsed = ex.extract(ex.parse(source), source)
    assert [(d.qualified_name, d.kind) for d in parsed.definitions] == [
        ("f", "function"), ("g", "function"), ("h", "function"), ("i", "function"), ("~C", "function"),
        ("operator==", "function"), ("S", "struct"), ("S.j", "method"), ("S.operator<", "method"),
    ]


def test_cpp_imports():
    assert parse("cpp", "cpp/src/main.cc").imports == [Import("<iostream>", 1), Import('"shape.hpp"', 2)]
    assert parse("cpp", "cpp/src/shape.cpp").imports == [Import('"shape.hpp"', 1)]
