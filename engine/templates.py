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
    suffix_after_context: bool = False  # suffix between the repo context and the cursor file's prefix (ours)
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
        if self.suffix_after_context:
            context, file_prefix = self.split_context(prefix)
            return f"{context}{self.fim_suffix}{suffix}{self.fim_prefix}{file_prefix}{self.fim_middle}"
        if self.spm:
            return f"{self.fim_suffix}{suffix}{self.fim_prefix}{prefix}{self.fim_middle}"
        return f"{self.fim_prefix}{prefix}{self.fim_suffix}{suffix}{self.fim_middle}"

    def unfim(self, prompt: str) -> tuple[str, str]:
        """`fim`'s inverse: a rendered prompt back into (prefix, suffix).

        Packed code has the special tokens broken up (agent/context/render.py), so the markers found are ours.
        """
        if not self.has_fim:
            return prompt, ""
        core = prompt.removesuffix(self.fim_middle or "")
        if self.suffix_after_context:
            context, _, rest = core.partition(self.fim_suffix or "")
            suffix, _, file_prefix = rest.partition(self.fim_prefix or "")
            return context + file_prefix, suffix
        if self.spm:
            suffix, _, prefix = core.removeprefix(self.fim_suffix or "").partition(self.fim_prefix or "")
            return prefix, suffix
        prefix, _, suffix = core.removeprefix(self.fim_prefix or "").partition(self.fim_suffix or "")
        return prefix, suffix

    def split_context(self, prefix: str) -> tuple[str, str]:
        """(repo context up to and including the cursor file's header line, the file's own prefix).

        The cursor's file is the last `file_sep` block; a prefix without one is all file.
        """
        header = prefix.rfind(self.file_sep) if self.file_sep else -1
        if header < 0:
            return "", prefix
        line_end = prefix.find("\n", header)
        cut = len(prefix) if line_end < 0 else line_end + 1
        return prefix[:cut], prefix[cut:]

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
# The embedded model (engine/model) is trained on the Qwen-style markers, with the suffix placed after the repo
# context and before the cursor file's prefix: the middle then continues the prefix directly (what a small model
# learns far more easily than PSM's jump back over the suffix), and what precedes the cursor's file -- and, while
# the user types forward, the suffix too -- stays a stable prompt prefix for the prefix cache.
WHOLEREPO = ModelTemplate(
    name="wholerepo",
    fim_prefix=QWEN_CODER.fim_prefix,
    fim_suffix=QWEN_CODER.fim_suffix,
    fim_middle=QWEN_CODER.fim_middle,
    repo_name=QWEN_CODER.repo_name,
    file_sep=QWEN_CODER.file_sep,
    suffix_after_context=True,
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
