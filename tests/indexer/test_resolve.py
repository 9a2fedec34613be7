"""Import resolution on small in-memory repositories, one rule of each resolver at a time."""

from __future__ import annotations

from collections.abc import Iterable

from indexer.model import Import, ImportedName
from indexer.resolve import ImportTargets, RepoLayout, resolve_import


def layout(sources: Iterable[str], configs: dict[str, str] | None = None) -> RepoLayout:
    """Indexed ``sources`` (empty text) plus unindexed config files readable through read_text."""
    texts = dict.fromkeys(sources, "") | (configs or {})
    return RepoLayout(files=frozenset(sources), read_text=texts.get)


def imp(module: str, *names: str, alias: str | None = None) -> Import:
    return Import(module, 1, names=tuple(ImportedName(n) for n in names), alias=alias)


def modules(repo: RepoLayout, importer: str, language: str, module: str, *names: str) -> tuple[str, ...]:
    return resolve_import(repo, importer, language, imp(module, *names)).modules


# Python


def test_python_absolute_module_and_package() -> None:
    repo = layout(["app/__init__.py", "app/util.py", "app/core/__init__.py", "main.py"])
    assert modules(repo, "main.py", "python", "app.util") == ("app/util.py",)
    assert modules(repo, "main.py", "python", "app.core") == ("app/core/__init__.py",)
    assert modules(repo, "main.py", "python", "app") == ("app/__init__.py",)


def test_python_relative_imports() -> None:
    repo = layout(["a/__init__.py", "a/x.py", "a/b/__init__.py", "a/b/c.py", "a/b/z.py", "a/y/__init__.py"])
    assert resolve_import(repo, "a/b/c.py", "python", imp(".", "z")) == ImportTargets(
        modules=("a/b/__init__.py",), names={"z": "a/b/z.py"}
    )
    assert modules(repo, "a/b/c.py", "python", "..x") == ("a/x.py",)
    assert modules(repo, "a/b/c.py", "python", "..", "y") == ("a/__init__.py",)
    # In an __init__.py, the package is its own directory.
    assert modules(repo, "a/b/__init__.py", "python", ".z") == ("a/b/z.py",)
    # Climbing above the repository resolves to nothing.
    assert modules(repo, "a/b/c.py", "python", "....x") == ()


def test_python_from_package_imports_submodules_and_reexports() -> None:
    repo = layout(["pkg/__init__.py", "pkg/sub.py", "pkg/deep/__init__.py", "use.py"])
    targets = resolve_import(repo, "use.py", "python", imp("pkg", "sub", "deep", "helper"))
    # ``helper`` is re-exported by pkg/__init__.py, not a module: it stays with the module target.
    assert targets == ImportTargets(
        modules=("pkg/__init__.py",), names={"sub": "pkg/sub.py", "deep": "pkg/deep/__init__.py"}
    )


def test_python_star_import_resolves_to_module() -> None:
    repo = layout(["pkg/__init__.py", "pkg/m.py", "use.py"])
    assert resolve_import(repo, "use.py", "python", imp("pkg.m", "*")) == ImportTargets(modules=("pkg/m.py",))


def test_python_src_layout_and_multiple_roots() -> None:
    repo = layout(["src/mylib/__init__.py", "src/mylib/io.py", "tools/tool/__init__.py", "tests/test_io.py"])
    assert modules(repo, "tests/test_io.py", "python", "mylib.io") == ("src/mylib/io.py",)
    assert modules(repo, "src/mylib/io.py", "python", "tool") == ("tools/tool/__init__.py",)


def test_python_package_before_module_and_source_before_stub() -> None:
    repo = layout(["m.py", "m.pyi", "p.py", "p/__init__.py", "s.pyi", "x.py"])
    assert modules(repo, "x.py", "python", "m") == ("m.py",)
    assert modules(repo, "x.py", "python", "p") == ("p/__init__.py",)
    assert modules(repo, "x.py", "python", "s") == ("s.pyi",)


def test_python_namespace_package() -> None:
    repo = layout(["ns/part/__init__.py", "ns/part/mod.py", "ns/plain.py", "run.py"])
    assert modules(repo, "run.py", "python", "ns.part.mod") == ("ns/part/mod.py",)
    targets = resolve_import(repo, "run.py", "python", imp("ns", "plain"))
    assert targets == ImportTargets(modules=(), names={"plain": "ns/plain.py"})


def test_python_script_sees_its_own_directory() -> None:
    repo = layout(["scripts/run.py", "scripts/helpers.py"])
    assert modules(repo, "scripts/run.py", "python", "helpers") == ("scripts/helpers.py",)


def test_python_ambiguity_prefers_closest_root_then_shortest_path() -> None:
    repo = layout(
        [
            "services/a/src/common/__init__.py",
            "services/a/src/app/main.py",
            "services/b/src/common/__init__.py",
            "services/b/src/app/main.py",
            "x/deeper/tool/__init__.py",
            "y/tool/__init__.py",
        ]
    )
    a, b = "services/a/src/app/main.py", "services/b/src/app/main.py"
    assert modules(repo, a, "python", "common") == ("services/a/src/common/__init__.py",)
    assert modules(repo, b, "python", "common") == ("services/b/src/common/__init__.py",)
    # Neither root (x/deeper, y) is closer to this importer than the other: the shortest path wins.
    assert modules(repo, "z/run.py", "python", "tool") == ("y/tool/__init__.py",)


def test_python_external_is_empty() -> None:
    repo = layout(["pkg/__init__.py"])
    assert resolve_import(repo, "pkg/__init__.py", "python", imp("os.path")) == ImportTargets()
    assert resolve_import(repo, "pkg/__init__.py", "python", imp("numpy", "array")) == ImportTargets()


# TypeScript and JavaScript


def test_ts_relative_extensions_and_index() -> None:
    repo = layout(["src/app.ts", "src/lib/x.tsx", "src/lib/index.ts", "src/util.js", "src/data.json"])
    assert modules(repo, "src/app.ts", "typescript", "./lib/x") == ("src/lib/x.tsx",)
    assert modules(repo, "src/app.ts", "typescript", "./lib") == ("src/lib/index.ts",)
    assert modules(repo, "src/lib/x.tsx", "tsx", "../util") == ("src/util.js",)
    assert modules(repo, "src/app.ts", "typescript", "./data.json") == ("src/data.json",)
    assert modules(repo, "src/app.ts", "typescript", "./missing") == ()


def test_ts_prefers_source_over_declaration_and_built_script() -> None:
    repo = layout(["a.ts", "a.d.ts", "a.js", "b.d.ts", "b.js", "main.ts", "esm.mts"])
    assert modules(repo, "main.ts", "typescript", "./a") == ("a.ts",)
    assert modules(repo, "main.ts", "typescript", "./b") == ("b.d.ts",)
    # TypeScript ESM: the .js spelling denotes the .ts source.
    assert modules(repo, "main.ts", "typescript", "./a.js") == ("a.ts",)
    assert modules(repo, "main.ts", "typescript", "./esm.mjs") == ("esm.mts",)
    assert modules(repo, "main.ts", "javascript", "./b.js") == ("b.js",)


def test_ts_tsconfig_paths_and_base_url_with_comments() -> None:
    tsconfig = """{
      // comments and trailing commas are allowed
      "compilerOptions": {
        "baseUrl": "./src", /* block comment */
        "paths": {
          "@/*": ["app/*"],
          "@ui/*": ["ui/components/*", "ui/legacy/*",],
          "config": ["app/config/prod.ts"],
        },
      },
    }"""
    repo = layout(
        [
            "web/src/app/main.ts",
            "web/src/app/store.ts",
            "web/src/app/config/prod.ts",
            "web/src/ui/legacy/Button.tsx",
            "web/src/shared/log.ts",
        ],
        {"web/tsconfig.json": tsconfig},
    )
    importer = "web/src/app/main.ts"
    assert modules(repo, importer, "typescript", "@/store") == ("web/src/app/store.ts",)
    assert modules(repo, importer, "typescript", "@ui/Button") == ("web/src/ui/legacy/Button.tsx",)
    assert modules(repo, importer, "typescript", "config") == ("web/src/app/config/prod.ts",)
    assert modules(repo, importer, "typescript", "shared/log") == ("web/src/shared/log.ts",)
    assert modules(repo, importer, "typescript", "react") == ()


def test_ts_tsconfig_extends_relative_base() -> None:
    configs = {
        "tsconfig.base.json": '{"compilerOptions": {"paths": {"~lib/*": ["libs/*/src"]}}}',
        "apps/web/tsconfig.json": '{"extends": "../../tsconfig.base"}',
    }
    repo = layout(["apps/web/main.ts", "libs/core/src/index.ts"], configs)
    assert modules(repo, "apps/web/main.ts", "typescript", "~lib/core") == ("libs/core/src/index.ts",)


def test_ts_workspace_package_prefers_src_over_dist() -> None:
    configs = {
        "packages/core/package.json": '{"name": "@acme/core", "main": "dist/index.js", "types": "dist/index.d.ts"}',
        "packages/built/package.json": '{"name": "built", "main": "dist/index.js"}',
        "packages/exp/package.json": """{
            "name": "exp",
            "exports": {".": {"import": "./lib/main.mjs"}, "./*": "./lib/*.js"}
        }""",
    }
    repo = layout(
        [
            "packages/core/src/index.ts",
            "packages/core/src/sub.ts",
            "packages/core/dist/index.js",
            "packages/core/dist/index.d.ts",
            "packages/built/dist/index.js",
            "packages/exp/src/main.mts",
            "packages/exp/src/tools.ts",
            "apps/site/page.tsx",
        ],
        configs,
    )
    page = "apps/site/page.tsx"
    assert modules(repo, page, "tsx", "@acme/core") == ("packages/core/src/index.ts",)
    assert modules(repo, page, "tsx", "@acme/core/src/sub") == ("packages/core/src/sub.ts",)
    assert modules(repo, page, "tsx", "built") == ("packages/built/dist/index.js",)
    assert modules(repo, page, "tsx", "exp") == ("packages/exp/src/main.mts",)
    assert modules(repo, page, "tsx", "exp/tools") == ("packages/exp/src/tools.ts",)
    assert modules(repo, page, "tsx", "@acme/other") == ()


# Go


def test_go_module_path_to_package_files() -> None:
    repo = layout(
        ["main.go", "pkg/util/a.go", "pkg/util/b.go", "pkg/util/a_test.go", "pkg/util/inner/c.go"],
        {"go.mod": "module github.com/acme/app\n\ngo 1.22\n"},
    )
    assert modules(repo, "main.go", "go", "github.com/acme/app/pkg/util") == ("pkg/util/a.go", "pkg/util/b.go")
    assert modules(repo, "main.go", "go", "fmt") == ()
    assert modules(repo, "main.go", "go", "github.com/other/lib") == ()


def test_go_nested_module() -> None:
    repo = layout(
        ["cmd/main.go", "tools/gen/gen.go", "tools/main.go", "tools/vendor/example.com/dep/dep.go"],
        {"go.mod": "module example.com/root\n", "tools/go.mod": 'module "example.com/root/tools"\n'},
    )
    assert modules(repo, "cmd/main.go", "go", "example.com/root/tools/gen") == ("tools/gen/gen.go",)
    # The importer's own module (the nearest go.mod) supplies its vendor directory.
    assert modules(repo, "tools/main.go", "go", "example.com/dep") == ("tools/vendor/example.com/dep/dep.go",)
    assert modules(repo, "cmd/main.go", "go", "example.com/dep") == ()


# Rust


RUST_FILES = [
    "src/lib.rs",
    "src/main.rs",
    "src/net.rs",
    "src/net/tcp.rs",
    "src/net/udp/mod.rs",
    "src/net/udp/frame.rs",
    "src/bin/tool.rs",
    "src/bin/helper.rs",
]


def rust_repo() -> RepoLayout:
    return layout(RUST_FILES, {"Cargo.toml": '[package]\nname = "my-crate"\n'})


def test_rust_mod_declarations() -> None:
    repo = rust_repo()
    assert modules(repo, "src/lib.rs", "rust", "mod::net") == ("src/net.rs",)
    # Children of a non-mod.rs file live in its own directory; of mod.rs, beside it.
    assert modules(repo, "src/net.rs", "rust", "mod::udp") == ("src/net/udp/mod.rs",)
    assert modules(repo, "src/net/udp/mod.rs", "rust", "mod::frame") == ("src/net/udp/frame.rs",)
    # A bin root's children live beside it.
    assert modules(repo, "src/bin/tool.rs", "rust", "mod::helper") == ("src/bin/helper.rs",)
    assert modules(repo, "src/lib.rs", "rust", "mod::absent") == ()


def test_rust_crate_paths_and_module_names() -> None:
    repo = rust_repo()
    targets = resolve_import(repo, "src/main.rs", "rust", imp("crate::net", "tcp", "Socket"))
    assert targets == ImportTargets(modules=("src/net.rs",), names={"tcp": "src/net/tcp.rs"})
    # The longest prefix that is a module file: ``Frame`` is an item of frame.rs.
    assert modules(repo, "src/net/tcp.rs", "rust", "crate::net::udp::frame::Frame") == ("src/net/udp/frame.rs",)


def test_rust_super_self_and_relative_paths() -> None:
    repo = rust_repo()
    assert modules(repo, "src/net/tcp.rs", "rust", "super", "udp") == ("src/net.rs",)
    assert modules(repo, "src/net/udp/frame.rs", "rust", "super::super::tcp") == ("src/net/tcp.rs",)
    assert modules(repo, "src/net/udp/mod.rs", "rust", "self::frame", "*") == ("src/net/udp/frame.rs",)
    assert modules(repo, "src/lib.rs", "rust", "net::tcp") == ("src/net/tcp.rs",)
    assert modules(repo, "src/lib.rs", "rust", "super::x") == ()


def test_rust_own_and_external_crates() -> None:
    repo = rust_repo()
    # main.rs reaches the lib crate by its name, hyphen spelled as underscore.
    assert modules(repo, "src/main.rs", "rust", "my_crate::net::tcp") == ("src/net/tcp.rs",)
    assert resolve_import(repo, "src/main.rs", "rust", imp("std::collections", "HashMap")) == ImportTargets()
    assert resolve_import(repo, "src/main.rs", "rust", imp("serde", "Serialize")) == ImportTargets()


def test_rust_workspace_crates() -> None:
    configs = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
        "crates/core/Cargo.toml": '[package]\nname = "core-lib"\n',
        "crates/app/Cargo.toml": '[package]\nname = "app"\n',
    }
    repo = layout(["crates/core/src/lib.rs", "crates/core/src/model.rs", "crates/app/src/main.rs"], configs)
    targets = resolve_import(repo, "crates/app/src/main.rs", "rust", imp("core_lib", "model"))
    assert targets == ImportTargets(modules=("crates/core/src/lib.rs",), names={"model": "crates/core/src/model.rs"})


# Java


def test_java_class_and_star_imports() -> None:
    repo = layout(
        [
            "core/src/main/java/com/acme/util/Strings.java",
            "core/src/main/java/com/acme/util/Lists.java",
            "core/src/test/java/com/acme/util/Strings.java",
            "core/src/test/java/com/acme/util/StringsTest.java",
            "app/src/main/java/com/acme/App.java",
        ]
    )
    app = "app/src/main/java/com/acme/App.java"
    assert modules(repo, app, "java", "com.acme.util.Strings") == ("core/src/main/java/com/acme/util/Strings.java",)
    assert modules(repo, app, "java", "com.acme.util.Strings.Inner") == (
        "core/src/main/java/com/acme/util/Strings.java",
    )
    assert modules(repo, app, "java", "com.acme.util", "*") == (
        "core/src/main/java/com/acme/util/Lists.java",
        "core/src/main/java/com/acme/util/Strings.java",
    )
    assert modules(repo, app, "java", "java.util.List") == ()


# C and C++


def test_c_includes() -> None:
    repo = layout(
        [
            "src/main.c",
            "src/util.h",
            "include/util.h",
            "include/net/sock.h",
            "third_party/x/net/sock.h",
            "bb/z.h",
            "aa/z.h",
        ]
    )
    # Beside the includer first, then the shortest suffix match, then the lexicographically first.
    assert modules(repo, "include/util.c", "c", '"util.h"') == ("include/util.h",)
    assert modules(repo, "lib/x/a.cpp", "cpp", '"util.h"') == ("src/util.h",)
    assert modules(repo, "lib/x/a.cpp", "cpp", '"z.h"') == ("aa/z.h",)
    assert modules(repo, "src/main.c", "c", '"net/sock.h"') == ("include/net/sock.h",)
    assert modules(repo, "src/main.c", "c", '"../include/net/sock.h"') == ("include/net/sock.h",)
    assert modules(repo, "src/main.c", "c", "<net/sock.h>") == ("include/net/sock.h",)
    assert modules(repo, "src/main.c", "c", "<stdio.h>") == ()
    assert modules(repo, "src/main.c", "c", "MACRO") == ()


# Dispatch and caching


def test_unknown_language_is_empty() -> None:
    assert resolve_import(layout(["a.rb"]), "a.rb", "ruby", imp("b")) == ImportTargets()


def test_config_files_are_read_once_per_layout() -> None:
    reads: list[str] = []
    texts = {"go.mod": "module example.com/m\n", "a/a.go": "", "b/b.go": ""}

    def read_text(path: str) -> str | None:
        reads.append(path)
        return texts.get(path)

    repo = RepoLayout(files=frozenset({"a/a.go", "b/b.go"}), read_text=read_text)
    for _ in range(50):
        assert modules(repo, "a/a.go", "go", "example.com/m/b") == ("b/b.go",)
    assert len(reads) == len(set(reads))
