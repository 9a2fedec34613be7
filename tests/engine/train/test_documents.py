"""Training documents: the repo-level and FIM formats the agent renders, holes that reassemble the file."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine.templates import WHOLEREPO
from engine.train.data import document_starts
from engine.train.documents import (
    MIDDLE_CHARS,
    PREFIX_CHARS,
    SUFFIX_CHARS,
    FimSettings,
    line_hole,
    neutralise,
    random_hole,
    render_documents,
    repo_groups,
)
from engine.train.sources import SourceFile
from engine.train.tokenizer import EOT, SPECIAL_TOKENS

A = SourceFile("pkg/a.py", "def f():\n    return 1\n")
B = SourceFile("pkg/b.py", "from pkg.a import f\n\n\nvalue = f()\n")
NO_FIM = FimSettings(rate=0.0)
ALL_FIM = FimSettings(rate=2.0, line_rate=0.5)


def test_repo_document_matches_the_agent_format():
    (doc,) = render_documents([A, B], random.Random(0), NO_FIM)
    expected = (
        f"{WHOLEREPO.repo_name}pkg\n"
        f"{WHOLEREPO.file_sep}pkg/a.py\n{A.text}\n"
        f"{WHOLEREPO.file_sep}pkg/b.py\n{B.text}\n"
        f"{EOT}"
    )
    assert doc == expected


def _fim_parts(doc: str) -> tuple[str, str, str, str]:
    """(context with the file's header, suffix, prefix, middle) of one WHOLEREPO FIM document."""
    assert doc.endswith(EOT)
    for marker in (WHOLEREPO.fim_prefix, WHOLEREPO.fim_suffix, WHOLEREPO.fim_middle):
        assert doc.count(marker) == 1
    context, rest = doc[: -len(EOT)].split(WHOLEREPO.fim_suffix)
    suffix, rest = rest.split(WHOLEREPO.fim_prefix)
    prefix, middle = rest.split(WHOLEREPO.fim_middle)
    return context, suffix, prefix, middle


@pytest.mark.parametrize("seed", range(20))
def test_fim_document_is_context_suffix_prefix_middle_and_reassembles(seed):
    repo_doc, *fim_docs = render_documents([A, B], random.Random(seed), ALL_FIM)
    assert repo_doc == render_documents([A, B], random.Random(seed), NO_FIM)[0]  # every group keeps its whole text
    assert len(fim_docs) == 2
    head = f"{WHOLEREPO.repo_name}pkg\n"
    for doc in fim_docs:
        context, suffix, prefix, middle = _fim_parts(doc)
        if context.endswith(f"{WHOLEREPO.file_sep}pkg/b.py\n"):  # the earlier file rides in the context
            assert context == f"{head}{WHOLEREPO.file_sep}pkg/a.py\n{A.text}\n{WHOLEREPO.file_sep}pkg/b.py\n"
            assert prefix + middle + suffix == B.text
        else:
            assert context == f"{head}{WHOLEREPO.file_sep}pkg/a.py\n"
            assert prefix + middle + suffix == A.text
        assert WHOLEREPO.unfim(doc[: -len(EOT) - len(middle)]) == (context + prefix, suffix)


def test_document_starts_find_the_fim_samples():
    tokens = np.array([7, 8, 0, 9, 3, 5, 0, 4, 4, 0, 6, 3, 0], dtype=np.uint16)
    assert document_starts(tokens, eot_id=0, marker_id=3).tolist() == [3, 10]


@pytest.mark.parametrize("seed", range(30))
def test_line_hole_starts_inside_a_line_and_ends_at_a_line_end(seed):
    text = "class C:\n    def m(self):\n        return 42\n\n    x = 1\n"
    prefix, middle, suffix = line_hole(text, random.Random(seed))
    assert prefix + middle + suffix == text
    assert prefix == "" or prefix.rpartition("\n")[2].strip() in text  # after the indentation or typed code
    assert middle and not middle.endswith("\n") and "\n" not in middle.split("\n")[0]
    assert suffix.startswith("\n")


def test_line_holes_start_both_after_indentation_and_mid_line():
    text = "".join(f"    value_{i} = compute({i})\n" for i in range(50))
    starts = {line_hole(text, random.Random(seed))[0].rpartition("\n")[2].strip() == "" for seed in range(40)}
    assert starts == {True, False}


def test_line_hole_needs_a_code_line_and_random_hole_reassembles():
    assert line_hole("\n   \n", random.Random(0)) is None
    for seed in range(10):
        assert "".join(random_hole("abcdef", random.Random(seed))) == "abcdef"


def test_special_tokens_in_code_are_broken_up():
    text = "s = '" + "".join(SPECIAL_TOKENS) + "'"
    cleaned = neutralise(text)
    assert not any(token in cleaned for token in SPECIAL_TOKENS)
    assert cleaned.replace("\u200b", "") == text
    (doc,) = render_documents([SourceFile("p/x.py", text)], random.Random(0), NO_FIM)
    assert doc.count(EOT) == 1 and doc.count(WHOLEREPO.file_sep) == 1


def test_repo_groups_keep_one_directory_and_bound_the_size():
    files = [SourceFile(f"d{i % 2}/f{i}.py", "x" * 300) for i in range(10)] + [SourceFile("d0/big.py", "y" * 5000)]
    groups = repo_groups(files, max_chars=1000)
    assert sorted(f.path for g in groups for f in g) == sorted(f.path for f in files)
    for group in groups:
        assert len({f.directory for f in group}) == 1
        assert len(group) == 1 or sum(len(f.text) for f in group) <= 1000


@pytest.mark.parametrize("seed", range(10))
def test_fim_sample_of_a_large_file_fits_a_training_window(seed):
    """Prefix tail, suffix head and middle are bounded, so a window starting at the sample holds all of it."""
    big = SourceFile("pkg/big.py", "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(3000)))
    for doc in render_documents([A, big], random.Random(seed), ALL_FIM)[1:]:
        limit = PREFIX_CHARS + SUFFIX_CHARS + MIDDLE_CHARS + 200
        assert len(doc) <= limit
        context, suffix, prefix, middle = _fim_parts(doc)
        assert context.startswith(f"{WHOLEREPO.repo_name}pkg\n")  # the headers always stay
        source = A if context.endswith(f"{WHOLEREPO.file_sep}pkg/a.py\n") else big
        assert context.endswith(f"{WHOLEREPO.file_sep}{source.path}\n")
        assert (prefix[-200:] + middle + suffix[:200]) in source.text  # the text right around the hole
