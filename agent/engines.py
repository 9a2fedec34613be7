"""Which model answers: a backend built from the editor's settings.

`local` is the embedded engine with the shipped checkpoint (engine/weights/default) unless the settings
name another; `openai` is any OpenAI-compatible server. Torch loads only when `local` is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine import Backend, BackendError, OpenAIBackend, OpenAISettings

from .privacy import OutboundGuard, stays_on_this_machine

BACKENDS = ("local", "openai")


@dataclass(frozen=True)
class EngineSettings:
    backend: Literal["local", "openai"] = "local"
    # openai
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None  # the NAME of the variable holding the key, never the key itself
    template: str | None = None
    tokenizer: str | None = None  # openai: "deepseek" | "estimate" | a path; local random_init: tokenizer.json
    context_window: int | None = None
    redact: bool = False  # redact even on a loopback URL (an SSH tunnel to another machine looks local)
    max_retries: int | None = None  # openai: retries of a refused or failed request; None: the backend's 2
    # local
    checkpoint: str | None = None  # None: engine/weights/default when present
    random_init: str | None = None  # a preset name: untrained weights, plumbing tests only
    device: str | None = None


def backend_from_settings(settings: EngineSettings) -> Backend:
    """The backend the settings describe; BackendError (kind "bad_settings") says what is missing."""
    if settings.backend == "openai":
        return _openai(settings)
    if settings.backend == "local":
        return _local(settings)
    raise BackendError(f"unknown backend {settings.backend!r}; known: {', '.join(BACKENDS)}", kind="bad_settings")


def default_checkpoint() -> str | None:
    """The shipped model's folder when its weights are there."""
    from .engine_server import default_checkpoint as shipped

    return shipped()


def _openai(settings: EngineSettings) -> Backend:
    if not settings.url or not settings.model:
        raise BackendError("the openai backend needs `url` and `model`", kind="bad_settings")
    retries = {} if settings.max_retries is None else {"max_retries": _retries(settings.max_retries)}
    backend = OpenAIBackend(
        OpenAISettings(
            base_url=settings.url,
            model=settings.model,
            api_key_env=settings.api_key_env,
            tokenizer=settings.tokenizer,
            template=settings.template,
            context_window=settings.context_window,
            **retries,
        )
    )
    if stays_on_this_machine(settings.url) and not settings.redact:  # loopback, and no proxy in between
        return backend
    return OutboundGuard(backend, endpoint=settings.url)  # secrets never leave for another machine


def _retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BackendError(f"max_retries must be a whole number >= 0, not {value!r}", kind="bad_settings")
    return value


def _local(settings: EngineSettings) -> Backend:
    from engine import LocalBackend, LocalSettings

    checkpoint = settings.checkpoint or (None if settings.random_init else default_checkpoint())
    if checkpoint is None and settings.random_init is None:
        raise BackendError(
            "no local model: engine/weights/default holds no trained checkpoint yet; set `checkpoint`, "
            "or use the openai backend",
            kind="no_model",
        )
    return LocalBackend.from_settings(
        LocalSettings(
            checkpoint=checkpoint,
            random_init=settings.random_init,
            tokenizer=settings.tokenizer,
            device=settings.device,
            max_context=settings.context_window,
        )
    )
