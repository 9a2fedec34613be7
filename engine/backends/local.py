"""The `local` backend: the embedded decoder (engine.model) run in-process with torch, CPU or CUDA.

One request runs on the model at a time (an asyncio.Lock), and every model call runs on one worker thread: the
event loop stays free between tokens, a cancelled request stops at the next token, and the step it leaves
running on the thread finishes before the next request's first step starts (same single thread), so requests
never share the caches at once.

The caches of the previous request stay: a prompt that shares a token prefix with it (the stable head of a
packed context, the same FIM prefix a keystroke later) runs only the tokens after the common prefix, and
`Usage.cached_tokens` says how many were reused.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..model.config import ModelConfig, preset
from ..model.decoder import Decoder, engram_lookup_for
from ..runtime.checkpoint import CheckpointError, load_checkpoint, load_checkpoint_tokenizer
from ..runtime.generate import StopMatcher, TextStream, sample_token
from ..runtime.prefix_cache import PrefixCache
from ..templates import WHOLEREPO
from ..tokenizer import HFTokenizer, TokenizerError, load_tokenizer
from .base import Backend, BackendError, ChatMessage, ChatRequest, ContextTooLong, Delta, FimRequest, ModelInfo, Usage

RANDOM_WEIGHTS_NOTE = "untrained random weights: the output is noise (for plumbing tests only)"
# The shipped model (engine/weights/default, trained by `python -m engine.train`): used when no checkpoint is named.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "weights" / "default"
NO_TOOLS_NOTE = "no tool calls: the embedded model answers in text only"
CHAT_ROLES = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}
# A plain-text transcript: a line starting another turn ends the assistant's.
CHAT_STOPS = ("\nUser:", "\nSystem:", "\nTool:")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
T = TypeVar("T")


@dataclass(frozen=True)
class LocalSettings:
    checkpoint: str | None = None  # a folder written by save_checkpoint; None: the shipped DEFAULT_CHECKPOINT
    random_init: str | None = None  # a preset name: untrained random weights, only for plumbing tests
    tokenizer: str | None = None  # tokenizer.json for random_init (a checkpoint carries its own)
    device: str | None = None  # None: CUDA when present, else CPU
    dtype: str | None = None  # "float32" | "bfloat16" | "float16"; None: bfloat16 on CUDA, float32 on CPU
    seed: int | None = 0  # sampling seed of every request (reproducible); None: a fresh one each time
    max_context: int | None = None  # cap the KV cache below the model's max_seq_len
    prefill_chunk: int = 512  # prompt tokens per model call: bounds activation memory, lets cancel land


def render_chat(messages: Sequence[ChatMessage]) -> str:
    """A plain-text transcript ending where the assistant's reply begins."""
    turns = []
    for message in messages:
        text = message.content
        for call in message.tool_calls:
            text += f"\n[tool call {call.name}({call.arguments})]"
        turns.append(f"{CHAT_ROLES.get(message.role, message.role.title())}: {text}")
    turns.append("Assistant:")
    return "\n\n".join(turns)


class LocalBackend(Backend):
    def __init__(
        self,
        model: Decoder,
        tokenizer: HFTokenizer,
        *,
        name: str,
        notes: tuple[str, ...] = (),
        seed: int | None = 0,
        max_context: int | None = None,
        prefill_chunk: int = 512,
    ) -> None:
        if tokenizer.vocab_size > model.config.vocab_size:
            raise BackendError(
                f"model {name}: the tokenizer has {tokenizer.vocab_size} ids, the model only {model.config.vocab_size}"
            )
        context = min(model.config.max_seq_len, max_context or model.config.max_seq_len)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.cache = PrefixCache(model, context)
        self.seed = seed
        self.prefill_chunk = max(1, prefill_chunk)
        self._info = ModelInfo(
            backend="local",
            model=name,
            context_window=context,
            template=WHOLEREPO,
            tokenizer=tokenizer,
            notes=(*notes, NO_TOOLS_NOTE),
        )
        self._lock = asyncio.Lock()
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(1, thread_name_prefix="wholerepo-local")

    # --- construction ---------------------------------------------------------------------------------------------

    @classmethod
    def from_checkpoint(
        cls, folder: str | Path, *, device: str | None = None, dtype: str | None = None, **options: Any
    ) -> LocalBackend:
        device, torch_dtype = _device_and_dtype(device, dtype)
        try:
            model = load_checkpoint(folder, device, torch_dtype)
            tokenizer = load_checkpoint_tokenizer(folder)
        except CheckpointError as error:
            raise BackendError(str(error), kind="bad_checkpoint") from error
        return cls(model, tokenizer, name=Path(folder).resolve().name, **options)

    @classmethod
    def random_init(
        cls,
        config: ModelConfig | str,
        tokenizer: HFTokenizer | str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        **options: Any,
    ) -> LocalBackend:
        """Untrained weights for plumbing tests; `ModelInfo.notes` says so."""
        config = preset(config) if isinstance(config, str) else config
        if isinstance(tokenizer, str):
            tokenizer = _hf_tokenizer(tokenizer)
        device, torch_dtype = _device_and_dtype(device, dtype)
        lookup = engram_lookup_for(tokenizer.backend, config.vocab_size) if config.engram else None
        model = Decoder(config, engram_lookup=lookup).to(device=device, dtype=torch_dtype)
        notes = (RANDOM_WEIGHTS_NOTE, *options.pop("notes", ()))
        return cls(model, tokenizer, name="random-init", notes=notes, **options)

    @classmethod
    def from_settings(cls, settings: LocalSettings) -> LocalBackend:
        options = dict(seed=settings.seed, max_context=settings.max_context, prefill_chunk=settings.prefill_chunk)
        if settings.checkpoint:
            return cls.from_checkpoint(settings.checkpoint, device=settings.device, dtype=settings.dtype, **options)
        if settings.random_init:
            if not settings.tokenizer:
                raise BackendError("random_init needs `tokenizer` (a tokenizer.json path)", kind="bad_settings")
            return cls.random_init(
                settings.random_init, settings.tokenizer, device=settings.device, dtype=settings.dtype, **options
            )
        if (DEFAULT_CHECKPOINT / "config.json").is_file():
            return cls.from_checkpoint(DEFAULT_CHECKPOINT, device=settings.device, dtype=settings.dtype, **options)
        raise BackendError(
            f"the local backend needs `checkpoint` (a model folder): the shipped one ({DEFAULT_CHECKPOINT}) is missing;"
            " `random_init` is for plumbing tests only",
            kind="bad_settings",
        )

    # --- the Backend interface ------------------------------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return self._info

    def fim(self, request: FimRequest) -> AsyncIterator[Delta]:
        prompt = WHOLEREPO.fim(request.prefix, request.suffix)
        stops = (*request.stop, *WHOLEREPO.stop)
        return self._generate(prompt, stops, request.max_tokens, request.temperature, request.top_p)

    def chat(self, request: ChatRequest) -> AsyncIterator[Delta]:
        stops = (*request.stop, *CHAT_STOPS, *WHOLEREPO.stop)
        prompt = render_chat(request.messages)
        return self._generate(prompt, stops, request.max_tokens, request.temperature, request.top_p)

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 128,
        stop: Sequence[str] = (),
        temperature: float = 0.0,
        top_p: float = 1.0,
    ) -> AsyncIterator[Delta]:
        """Continue `prompt` as it is, no template around it: what the engine's server runs for a raw
        /v1/completions request (a client that wrapped the FIM markers itself)."""
        return self._generate(prompt, (*stop, *WHOLEREPO.stop), max_tokens, temperature, top_p)

    async def aclose(self) -> None:
        async with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
                self.cache.reset()
                self.model.clear_cache()

    def clear_prefix_cache(self) -> None:
        """Forget the previous request's tokens: the next prompt runs cold."""
        self.cache.reset()

    # --- generation -----------------------------------------------------------------------------------------------

    async def _generate(
        self, prompt: str, stops: Sequence[str], max_tokens: int, temperature: float, top_p: float
    ) -> AsyncIterator[Delta]:
        if self._executor is None:
            raise BackendError("the local backend is closed", kind="closed")
        ids = self.tokenizer.encode(prompt)
        if not ids:
            raise BackendError("the prompt is empty: nothing to continue", kind="bad_request")
        if len(ids) > self.cache.capacity:
            raise ContextTooLong(
                f"the prompt has {len(ids)} tokens; the local model's context is {self.cache.capacity} tokens"
            )
        seed = self.seed if self.seed is not None else random.getrandbits(63)
        sample = functools.partial(
            self._sample, temperature=temperature, top_p=top_p, generator=torch.Generator().manual_seed(seed)
        )
        async with self._lock:
            cached = await self._call(self.cache.reuse, ids)
            for start in range(cached, len(ids) - self.prefill_chunk, self.prefill_chunk):
                await self._call(self.cache.feed, ids[start : start + self.prefill_chunk])
            token = await self._call(self._advance, ids[len(self.cache.tokens) :], sample)
            text, stop = TextStream(self.tokenizer), StopMatcher(stops)
            produced = 0
            while True:
                produced += 1
                piece = stop.push(text.push(token))
                if piece:
                    yield Delta(text=piece)
                if stop.stopped or produced >= max_tokens or len(self.cache.tokens) >= self.cache.capacity:
                    break
                token = await self._call(self._advance, [token], sample)
            tail = stop.push(text.flush())
            tail += stop.flush()
            usage = Usage(prompt_tokens=len(ids), completion_tokens=produced, cached_tokens=cached)
            yield Delta(text=tail, finish_reason="stop" if stop.stopped else "length", usage=usage)

    def _advance(self, tokens: Sequence[int], sample: Callable[[torch.Tensor], int]) -> int:
        """Feed tokens, sample the next one; runs on the worker thread."""
        return sample(self.cache.feed(tokens))

    def _sample(self, logits: torch.Tensor, **options: Any) -> int:
        # Ids past the tokenizer's (a vocabulary padded for alignment) can never be decoded: never pick them.
        return sample_token(logits[: self.tokenizer.vocab_size], **options)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise BackendError("the local backend is closed", kind="closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))


def _device_and_dtype(device: str | None, dtype: str | None) -> tuple[str, torch.dtype]:
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    if name not in DTYPES:
        raise BackendError(f"unknown dtype {name!r}; known: {', '.join(DTYPES)}", kind="bad_settings")
    return device, DTYPES[name]


def _hf_tokenizer(spec: str) -> HFTokenizer:
    try:
        tokenizer = load_tokenizer(spec)
    except TokenizerError as error:
        raise BackendError(str(error), kind="bad_settings") from error
    if not isinstance(tokenizer, HFTokenizer):
        raise BackendError(f"the local model needs a real tokenizer.json, not {spec!r}", kind="bad_settings")
    return tokenizer
