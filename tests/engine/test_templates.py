"""Model templates: every FIM layout inverts, and the embedded model's keeps what precedes the cursor stable."""

from __future__ import annotations

import pytest

from engine.templates import TEMPLATES, WHOLEREPO

CONTEXT = "<|repo_name|>demo\n<|file_sep|>util.py\ndef helper():\n    return 1\n\n<|file_sep|>main.py\n"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_unfim_inverts_fim(name):
    template = TEMPLATES[name]
    for prefix, suffix in (("a\nb", "c\n"), ("", ""), (CONTEXT + "x = ", "\nprint(x)\n")):
        assert template.unfim(template.fim(prefix, suffix)) == (prefix, suffix)


def test_wholerepo_puts_the_suffix_between_the_context_and_the_file_prefix():
    prompt = WHOLEREPO.fim(CONTEXT + "import util\nx = ", "\nprint(x)\n")
    assert prompt == f"{CONTEXT}<|fim_suffix|>\nprint(x)\n<|fim_prefix|>import util\nx = <|fim_middle|>"
    assert WHOLEREPO.fim("x = ", "\n") == "<|fim_suffix|>\n<|fim_prefix|>x = <|fim_middle|>"  # no header: all file


def test_typing_forward_changes_only_the_end_of_the_wholerepo_prompt():
    suffix = "\n\nprint(total)\n"
    before = WHOLEREPO.fim(CONTEXT + "total = su", suffix).removesuffix(WHOLEREPO.fim_middle)
    after = WHOLEREPO.fim(CONTEXT + "total = sum(", suffix).removesuffix(WHOLEREPO.fim_middle)
    assert after.startswith(before)  # context, suffix and the typed text so far are a cacheable prefix
