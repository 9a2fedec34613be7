"""A pack as the prompt text a code model reads: repo-level context, then the cursor's file as FIM.

Two repo-level styles: the `<|repo_name|>`/`<|file_sep|>` markers of models trained on them
(Qwen2.5-Coder, StarCoder2, our own), and plain path comments (`# path` / `// path`) for the rest.
Pack items render in pack order, so the stable part is the prompt's prefix. Packed code that
happens to contain a model's special tokens has them broken up, so it cannot fake structure.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from engine import ModelTemplate

from .stable import REPO_MAP_PATH
from .types import Pack, PackItem

HASH_COMMENT_SUFFIXES = (".py", ".pyi", ".rb", ".sh", ".toml", ".yaml", ".yml")


def comment_prefix(path: str) -> str:
    return "#" if PurePosixPath(path).suffix in HASH_COMMENT_SUFFIXES else "//"


def neutralise(text: str, template: ModelTemplate) -> str:
    for token in template.special_tokens:
        text = text.replace(token, token[:1] + "\u200b" + token[1:])
    return text


def render_context(pack: Pack, template: ModelTemplate, repo_name: str) -> str:
    """The packed items, in order, in the model's repo-level format."""
    parts = [f"{template.repo_name}{repo_name}\n"] if template.file_sep and template.repo_name else []
    for first, texts in _groups(pack.items):
        header = f"{template.file_sep}{_label(first)}" if template.file_sep else _comment_header(first)
        body = "\n".join(neutralise(text, template) for text in texts)
        parts.append(f"{header}\n{body}\n" if template.file_sep else f"{header}\n{body}\n\n")
    return "".join(parts)


def _groups(items: list[PackItem]) -> list[tuple[PackItem, list[str]]]:
    """Items under their headers: the repo map comes in parts (one per directory) under one."""
    groups: list[tuple[PackItem, list[str]]] = []
    for item in items:
        if groups and item.path == REPO_MAP_PATH and groups[-1][0].path == REPO_MAP_PATH:
            groups[-1][1].append(item.text)
        else:
            groups.append((item, [item.text]))
    return groups


def render_fim_prompt(pack: Pack, template: ModelTemplate, repo_name: str) -> str:
    """The whole completion prompt: context, then the cursor's file with the hole at the cursor."""
    window = pack.window
    context = render_context(pack, template, repo_name)
    if template.file_sep:
        header = f"{template.file_sep}{window.path}\n"
    else:
        header = f"{comment_prefix(window.path)} {window.path}\n"
    prefix = context + header + neutralise(window.prefix, template)
    suffix = neutralise(window.suffix, template)
    if template.has_fim:
        return template.fim(prefix, suffix)
    return prefix


def _label(item: PackItem) -> str:
    if item.path == REPO_MAP_PATH:
        return "repo map"
    whole_file = item.stable and item.start_line == 1  # the stable part packs whole files only
    return item.path if whole_file else f"{item.path}:{item.start_line}-{item.end_line}"


def _comment_header(item: PackItem) -> str:
    if item.path == REPO_MAP_PATH:
        return "# repo map"
    return f"{comment_prefix(item.path)} {item.path}:{item.start_line}-{item.end_line}"
