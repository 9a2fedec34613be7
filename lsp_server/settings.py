"""The server's settings: `initializationOptions`, then the client's `wholerepo` section of
workspace/configuration on top. Keys may be camelCase or snake_case; unknown keys are reported,
never fatal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from agent import CompletionSettings, EngineSettings

FEATURES = ("inlineCompletion", "completion", "hover", "codeLens", "diagnostics", "review", "refactor")


@dataclass(frozen=True)
class Debounce:
    min_ms: float = 0.0
    max_ms: float = 250.0


@dataclass(frozen=True)
class ServerSettings:
    engine: EngineSettings = field(default_factory=EngineSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    debounce: Debounce = field(default_factory=Debounce)
    features: frozenset[str] = frozenset(f for f in FEATURES if f != "review")  # review: opt-in
    index_dir: str | None = None
    problems: tuple[str, ...] = ()  # what was ignored, for the log

    def enabled(self, feature: str) -> bool:
        return feature in self.features


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _fill(cls: type, values: dict[str, Any], problems: list[str], where: str):
    """A dataclass of ``cls`` from a dict with loosely spelled keys; wrong keys or types are skipped."""
    fields = {_key(f.name): f for f in dataclasses.fields(cls)}
    known: dict[str, Any] = {}
    for name, value in values.items():
        f = fields.get(_key(name))
        if f is None:
            problems.append(f"unknown setting {where}{name}")
            continue
        known[f.name] = value
    try:
        return cls(**known)
    except TypeError as error:
        problems.append(f"bad {where} settings: {error}")
        return cls()


def parse_settings(*layers: dict[str, Any] | None) -> ServerSettings:
    """Settings from option dicts, later layers winning.

    The editors send ``{"backend": {"kind", "url", "model", "api_key_env"}, "budgets": {"context_tokens",
    "max_tokens"}, "features": {"inline_completion": bool, ...}}``; engine and completion fields may also
    sit under "engine" / "completion" with their own names.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer, dict):
            merged = _merge(merged, layer)
    problems: list[str] = []
    backend = merged.get("backend")
    engine = dict(backend) if isinstance(backend, dict) else ({"backend": backend} if backend else {})
    if "kind" in engine:
        engine["backend"] = engine.pop("kind")
    engine |= dict(merged.get("engine") or {})
    budgets = dict(merged.get("budgets") or {})
    completion = {"budget": budgets.pop("context_tokens", None), "max_tokens": budgets.pop("max_tokens", None)}
    completion = {k: v for k, v in completion.items() if v is not None} | dict(merged.get("completion") or {})
    problems += [f"unknown setting budgets.{name}" for name in budgets]
    for name in merged:
        if _key(name) not in TOP_KEYS:
            problems.append(f"unknown setting {name}")
    engine_settings = _fill(EngineSettings, engine, problems, "backend.")
    if engine_settings.backend not in ("local", "openai"):
        problems.append(f"unknown backend {engine_settings.backend!r}; using local")
        engine_settings = dataclasses.replace(engine_settings, backend="local")
    return ServerSettings(
        engine=engine_settings,
        completion=_fill(CompletionSettings, completion, problems, "completion."),
        debounce=_fill(Debounce, dict(merged.get("debounce") or {}), problems, "debounce."),
        features=_features(dict(merged.get("features") or {}), problems),
        index_dir=merged.get("indexDir") or merged.get("index_dir"),
        problems=tuple(problems),
    )


TOP_KEYS = {_key(k) for k in ("backend", "budgets", "engine", "completion", "features", "debounce", "index_dir")}


def _features(toggles: dict[str, Any], problems: list[str]) -> frozenset[str]:
    by_key = {_key(name): name for name in FEATURES}
    features = set(ServerSettings().features)
    for name, on in toggles.items():
        feature = by_key.get(_key(name))
        if feature is None:
            problems.append(f"unknown feature {name}; known: {', '.join(FEATURES)}")
        elif on:
            features.add(feature)
        else:
            features.discard(feature)
    return frozenset(features)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name, value in top.items():
        out[name] = _merge(out[name], value) if isinstance(value, dict) and isinstance(out.get(name), dict) else value
    return out
