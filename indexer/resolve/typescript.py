"""JavaScript and TypeScript: module specifiers to files, the way tsc resolves them.

A path (relative specifier, ``paths`` substitution, ``baseUrl`` join) resolves to the exact file,
then the path plus ``.ts .tsx .d.ts .js .jsx .mjs .cjs .mts .cts`` in that order, then
``<path>/index.<ext>`` in the same order, so a TypeScript source always wins over its declaration
file or a built script. A path spelled with a script extension (``./x.js``, the TypeScript ESM
convention) first tries its source: ``.js`` -> ``.ts``/``.tsx``, ``.jsx`` -> ``.tsx``, ``.mjs`` ->
``.mts``, ``.cjs`` -> ``.cts``. A ``?query`` suffix (bundler loaders) is ignored.

Bare specifiers go through the nearest ``tsconfig.json`` (else ``jsconfig.json``) above the
importer: ``compilerOptions.paths`` (an exact pattern, else the ``*`` pattern with the longest
prefix; its substitutions in order), then ``baseUrl``. ``extends`` is followed to relative files
only. Then through workspace packages (a ``package.json`` in the repo with that ``name``; the
shortest directory wins a duplicated name): the package's ``source``, ``types``, ``typings``,
``exports`` and ``main`` entries, where a built file under ``dist/ build/ lib/ out/`` maps to the
same path under ``src/`` when that exists, and the first TypeScript source among the entries wins.
Anything else (npm dependencies, Node built-ins) is external and resolves to nothing.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from ..model import Import
from . import ImportTargets, RepoLayout, config_texts, join, memo, nearest, normalize, parent

importer_key = parent  # relative specifiers and the governing tsconfig: both by the importer's directory

_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_SOURCES_OF = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_TS_SOURCES = (".ts", ".tsx", ".mts", ".cts")
_DECLARATIONS = (".d.ts", ".d.mts", ".d.cts")
_BUILD_DIRS = frozenset({"dist", "build", "lib", "out"})
_ENTRY_FIELDS = ("source", "types", "typings", "exports", "main")
# Strings are matched so that comment markers and commas inside them are left alone.
_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r'("(?:\\.|[^"\\])*")|,(?=\s*[}\]])')


@dataclass(frozen=True)
class _Config:
    base_url: str | None  # repo-relative directory
    paths: dict[str, list[str]]
    paths_dir: str  # what ``paths`` substitutions are relative to when there is no baseUrl


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one specifier: relative to the importer, else through tsconfig, else workspaces."""
    spec = imp.module.split("?", 1)[0]
    if spec.startswith(("./", "../")) or spec in (".", ".."):
        path = normalize(join(parent(importer), spec))
        found = _file(layout.files, path) if path is not None else None
    else:
        found = _configured(layout, importer, spec) or _workspace(layout, spec)
    return ImportTargets(modules=(found,) if found else ())


def _file(files: frozenset[str], path: str) -> str | None:
    """The file a path denotes: source for a script spelling, exact, extensions, index."""
    stem, extension = posixpath.splitext(path)
    candidates = [stem + source for source in _SOURCES_OF.get(extension, ())]
    candidates.append(path)
    index = join(path, "index")
    candidates += [path + ext for ext in _EXTENSIONS]
    candidates += [index + ext for ext in _EXTENSIONS]
    return next((c for c in candidates if c in files), None)


def _configured(layout: RepoLayout, importer: str, spec: str) -> str | None:
    """``paths`` then ``baseUrl`` of the tsconfig (or jsconfig) nearest above the importer."""
    config = _config_for(layout, parent(importer))
    if config is None:
        return None
    base = config.base_url if config.base_url is not None else config.paths_dir
    for target in _substitutions(config.paths, spec):
        path = normalize(join(base, target))
        found = _file(layout.files, path) if path is not None else None
        if found:
            return found
    if config.base_url is None:
        return None
    path = normalize(join(config.base_url, spec))
    return _file(layout.files, path) if path is not None else None


def _substitutions(paths: dict[str, list[str]], spec: str) -> list[str]:
    """The targets of the pattern matching ``spec``: exact first, else the longest prefix."""
    if spec in paths:
        return paths[spec]
    best: tuple[int, list[str], str] | None = None
    for pattern, targets in paths.items():
        prefix, star, suffix = pattern.partition("*")
        if (
            star
            and len(spec) >= len(prefix) + len(suffix)
            and spec.startswith(prefix)
            and spec.endswith(suffix)
            and (best is None or len(prefix) > best[0])
        ):
            best = (len(prefix), targets, spec[len(prefix) : len(spec) - len(suffix)])
    if best is None:
        return []
    return [target.replace("*", best[2]) for target in best[1]]


def _config_for(layout: RepoLayout, directory: str) -> _Config | None:
    """The config governing ``directory``: nearest tsconfig.json, else nearest jsconfig.json."""
    for name in ("tsconfig.json", "jsconfig.json"):
        home = nearest(config_texts(layout, name, _EXTENSIONS), directory)
        if home is not None:
            loaded: dict[str, _Config] = memo(layout, "ts:configs", dict)
            path = join(home, name)
            if path not in loaded:
                loaded[path] = _load(layout, path, 0)
            return loaded[path]
    return None


def _load(layout: RepoLayout, path: str, depth: int) -> _Config:
    """One tsconfig over what it ``extends``; relative options are anchored to their own file."""
    data = _parse(layout.read_text(path))
    here = parent(path)
    config = _Config(None, {}, here)
    extends = data.get("extends")
    for base in [extends] if isinstance(extends, str) else extends if isinstance(extends, list) else []:
        if isinstance(base, str) and base.startswith(".") and depth < 8:
            base_path = normalize(join(here, base))
            if base_path is not None:
                if layout.read_text(base_path) is None and not base_path.endswith(".json"):
                    base_path += ".json"
                config = _load(layout, base_path, depth + 1)
    options = data.get("compilerOptions")
    if not isinstance(options, dict):
        return config
    base_url, paths, paths_dir = config.base_url, config.paths, config.paths_dir
    if isinstance(options.get("baseUrl"), str):
        base_url = normalize(join(here, options["baseUrl"]))
    if isinstance(options.get("paths"), dict):
        paths = {
            pattern: [t for t in targets if isinstance(t, str)]
            for pattern, targets in options["paths"].items()
            if isinstance(targets, list)
        }
        paths_dir = here
    return _Config(base_url, paths, paths_dir)


def _parse(text: str | None) -> dict:
    """JSON with comments and trailing commas (tsconfig's dialect); {} when unreadable."""
    if not text:
        return {}
    text = _COMMENT.sub(lambda m: m.group(1) or "", text.lstrip("\ufeff"))
    text = _TRAILING_COMMA.sub(lambda m: m.group(1) or "", text)
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _workspace(layout: RepoLayout, spec: str) -> str | None:
    """A specifier naming a package of this repository, resolved to its source entry."""
    parts = spec.split("/")
    split = 2 if spec.startswith("@") else 1
    package = _packages(layout).get("/".join(parts[:split]))
    if package is None:
        return None
    directory, manifest = package
    subpath = "/".join(parts[split:])
    if subpath:
        targets = _exports(manifest.get("exports"), "./" + subpath) + [subpath]
    else:
        targets = []
        for field in _ENTRY_FIELDS:
            value = manifest.get(field)
            targets += _exports(value, ".") if field == "exports" else [value]
        targets.append("index")
    found = [_entry(layout.files, directory, t) for t in targets if isinstance(t, str)]
    found = [f for f in found if f]
    sources = [f for f in found if f.endswith(_TS_SOURCES) and not f.endswith(_DECLARATIONS)]
    return (sources or found or [None])[0]


def _entry(files: frozenset[str], directory: str, target: str) -> str | None:
    """A package entry, built file mapped back to its ``src/`` source when there is one."""
    path = normalize(join(directory, target))
    if path is None:
        return None
    relative = path[len(directory) + 1 :] if directory else path
    first, _, rest = relative.partition("/")
    if first in _BUILD_DIRS and rest:
        source = _file(files, join(directory, "src", _strip_script_extension(rest)))
        if source:
            return source
    return _file(files, path)


def _strip_script_extension(path: str) -> str:
    for extension in (*_DECLARATIONS, ".js", ".jsx", ".mjs", ".cjs"):
        if path.endswith(extension):
            return path[: -len(extension)]
    return path


def _exports(exports: object, key: str) -> list[str]:
    """Targets of ``exports[key]`` (conditions flattened in order; one ``*`` pattern allowed)."""
    if isinstance(exports, (str, list)) or (isinstance(exports, dict) and not any(k.startswith(".") for k in exports)):
        exports = {".": exports}  # the sugar for a package exporting only its main entry
    if not isinstance(exports, dict):
        return []
    if key in exports:
        return _leaves(exports[key])
    for pattern, value in exports.items():
        prefix, star, suffix = pattern.partition("*")
        if star and key.startswith(prefix) and key.endswith(suffix):
            matched = key[len(prefix) : len(key) - len(suffix)]
            return [leaf.replace("*", matched) for leaf in _leaves(value)]
    return []


def _leaves(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def _packages(layout: RepoLayout) -> dict[str, tuple[str, dict]]:
    """Workspace packages by name: (directory, parsed package.json)."""

    def build() -> dict[str, tuple[str, dict]]:
        found: dict[str, tuple[str, dict]] = {}
        manifests = config_texts(layout, "package.json", _EXTENSIONS)
        for directory in sorted(manifests, key=lambda d: (len(d), d)):
            manifest = _parse(manifests[directory])
            name = manifest.get("name")
            if isinstance(name, str) and name not in found:
                found[name] = (directory, manifest)
        return found

    return memo(layout, "ts:packages", build)
