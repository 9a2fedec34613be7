"""Prompt templates code models were trained on: fill-in-the-middle and repo-level file separators.

A completion model only infills well in the exact format it saw in training, so the template is a
property of the model, looked up by name. `repo_name`/`file_sep` are the repo-level format of
Qwen2.5-Coder and StarCoder2 (`<|repo_name|>name<|file_sep|>path\\ncode...`); models without one get
plain path comments (`# path`), the style DeepSeek-Coder's repo-level data used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelTemplate:
    name: str
    fim_prefix: str | None
    fim_suffix: str | None
    fim_middle: str | None
    spm: bool = False  # suffix before prefix (Codestral)
    repo_name: str | None = None
    file_sep: str | None = None
    stop: tuple[str, ...] = ()

    @property
    def has_fim(self) -> bool:
        return self.fim_prefix is not None

    def fim(self, prefix: str, suffix: str) -> str:
        """The infilling prompt; the model writes the middle after it."""
        if not self.has_fim:
            raise ValueError(f"model template {self.name!r} has no fill-in-the-middle format")
        if self.spm:
            return f"{self.fim_suffix}{suffix}{self.fim_prefix}{prefix}{self.fim_middle}"
        return f"{self.fim_prefix}{prefix}{self.fim_suffix}{suffix}{self.fim_middle}"

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """Text that must never appear inside packed code, or the model would read it as structure."""
        markers = (self.fim_prefix, self.fim_suffix, self.fim_middle, self.repo_name, self.file_sep)
        return tuple(marker for marker in markers if marker)


QWEN_CODER = ModelTemplate(
    name="qwen-coder",
    fim_prefix="<|fim_prefix|>",
    fim_suffix="<|fim_suffix|>",
    fim_middle="<|fim_middle|>",
    repo_name="<|repo_name|>",
    file_sep="<|file_sep|>",
    stop=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"),
)
STARCODER2 = ModelTemplate(
    name="starcoder2",
    fim_prefix="<fim_prefix>",
    fim_suffix="<fim_suffix>",
    fim_middle="<fim_middle>",
    repo_name="<repo_name>",
    file_sep="<file_sep>",
    stop=("<|endoftext|>", "<file_sep>", "<fim_pad>"),
)
DEEPSEEK_CODER = ModelTemplate(
    name="deepseek-coder",
    fim_prefix="<｜fim▁begin｜>",
    fim_suffix="<｜fim▁hole｜>",
    fim_middle="<｜fim▁end｜>",
    stop=("<｜end▁of▁sentence｜>", "<|EOT|>"),
)
CODELLAMA = ModelTemplate(
    name="codellama",
    fim_prefix="<PRE> ",
    fim_suffix=" <SUF>",
    fim_middle=" <MID>",
    stop=("<EOT>", "</s>"),
)
CODESTRAL = ModelTemplate(
    name="codestral",
    fim_prefix="[PREFIX]",
    fim_suffix="[SUFFIX]",
    fim_middle="[MIDDLE]",
    spm=True,
    stop=("</s>",),
)
# The embedded model (engine/model) is trained on the Qwen-style markers.
WHOLEREPO = ModelTemplate(
    name="wholerepo",
    fim_prefix=QWEN_CODER.fim_prefix,
    fim_suffix=QWEN_CODER.fim_suffix,
    fim_middle=QWEN_CODER.fim_middle,
    repo_name=QWEN_CODER.repo_name,
    file_sep=QWEN_CODER.file_sep,
    stop=("<|endoftext|>", "<|file_sep|>", "<|repo_name|>"),
)
CHAT_ONLY = ModelTemplate(name="chat", fim_prefix=None, fim_suffix=None, fim_middle=None)

TEMPLATES: dict[str, ModelTemplate] = {
    template.name: template for template in (QWEN_CODER, STARCODER2, DEEPSEEK_CODER, CODELLAMA, CODESTRAL, WHOLEREPO)
}
# Substrings of model names, checked in order: the first match names the template.
_MODEL_NAME_HINTS: tuple[tuple[str, ModelTemplate], ...] = (
    ("wholerepo", WHOLEREPO),
    ("qwen", QWEN_CODER),
    ("starcoder", STARCODER2),
    ("deepseek-coder", DEEPSEEK_CODER),
    ("deepseek", DEEPSEEK_CODER),
    ("codellama", CODELLAMA),
    ("code-llama", CODELLAMA),
    ("codestral", CODESTRAL),
)


def template_for(model: str, explicit: str | None = None) -> ModelTemplate:
    """The template named in the settings, else the one the model's name suggests, else chat only."""
    if explicit:
        if explicit not in TEMPLATES and explicit != CHAT_ONLY.name:
            raise ValueError(f"unknown model template {explicit!r}; known: {', '.join(sorted(TEMPLATES))}, chat")
        return TEMPLATES.get(explicit, CHAT_ONLY)
    lowered = model.lower()
    for hint, template in _MODEL_NAME_HINTS:
        if hint in lowered:
            return template
    return CHAT_ONLY
