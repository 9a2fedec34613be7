"""What a rename does beyond code: a sorted ``__all__`` stays sorted; strings and comments only on request."""

from __future__ import annotations

import json

from agent import apply_to_disk, rename
from lsp_server.cli import main as cli_main
from tests.agent.refactor_fixtures import at, edits_of, workspace_fixture

CODE_EDITS = sorted(
    [
        ("lib/__init__.py", 1, 27, "Zeta"),  # the import
        ("lib/annotated.py", 3, 20, "Zeta"),
        ("lib/annotated.py", 9, 14, "Zeta"),  # string annotations (forward references) are code: b: "Beta"
        ("lib/annotated.py", 9, 25, "Zeta"),  # -> "Beta"
        ("lib/annotated.py", 13, 32, "Zeta"),  # Optional["Beta"]
        ("lib/annotated.py", 17, 25, "Zeta"),  # "models.Beta | None", through the module
        ("lib/annotated.py", 17, 55, "Zeta"),  # "list[Beta]"
        ("lib/annotated.py", 21, 7, "Zeta"),  # note: "Beta" = ... (the value, a plain string, stays)
        ("lib/__init__.py", 7, 5, "Gamma"),  # __all__ sorted by str.casefold (as httpx keeps it): it stays so
        ("lib/__init__.py", 8, 5, "make_beta"),
        ("lib/__init__.py", 9, 5, "Zeta"),
        ("lib/models.py", 5, 6, "Zeta"),
        ("lib/models.py", 18, 11, "Zeta"),
        ("lib/plain.py", 1, 27, "Zeta"),
        ("lib/plain.py", 3, 21, "Zeta"),  # ("Alpha", "Zeta") is still in order
        ("lib/unsorted.py", 1, 27, "Zeta"),
        ("lib/unsorted.py", 3, 12, "Zeta"),  # an unsorted __all__ keeps its order
    ]
)


texts = workspace_fixture("texts")


def test_a_sorted_all_stays_sorted_annotations_follow_and_strings_and_comments_are_left_alone(texts):
    change = rename(texts, "lib/models.py", at(texts, "lib/models.py", 5, "Beta"), "Zeta")
    assert edits_of(change) == CODE_EDITS
    apply_to_disk(texts, change)
    init = (texts.root / "lib/__init__.py").read_text()
    assert '"__version__",\n    "Alpha",\n    "Gamma",\n    "make_beta",\n    "Zeta",\n]' in init


def test_in_text_mode_also_renames_whole_words_in_strings_comments_and_docstrings(texts):
    change = rename(texts, "lib/models.py", at(texts, "lib/models.py", 5, "Beta"), "Zeta", in_text=True)
    assert edits_of(change) == sorted(
        CODE_EDITS
        + [
            ("checks/snippets.py", 1, 27, "Zeta"),  # code kept in a string
            ("checks/snippets.py", 1, 39, "Zeta"),
            ("lib/annotated.py", 21, 16, "Zeta"),  # the value "Beta"
            ("lib/models.py", 6, 9, "Zeta"),  # the docstring, twice
            ("lib/models.py", 6, 33, "Zeta"),
            ("lib/models.py", 17, 12, "Zeta"),  # a comment
        ]
    )
    # not renamed: "Betamax" and "alphaBeta" (not the whole word)


def test_a_list_with_comments_inside_keeps_its_order(texts):
    path = texts.root / "lib/__init__.py"
    path.write_text(path.read_text().replace('"Beta",', '"Beta",  # the main one'))
    texts.index.refresh(["lib/__init__.py"])
    change = rename(texts, "lib/models.py", at(texts, "lib/models.py", 5, "Beta"), "Zeta")
    assert [e for e in edits_of(change) if e[0] == "lib/__init__.py"] == [
        ("lib/__init__.py", 1, 27, "Zeta"),
        ("lib/__init__.py", 7, 5, "Zeta"),
    ]


def test_cli_in_text_flag(texts, tmp_path, capsys):
    args = [str(texts.root), "lib/models.py:5:7", "Zeta", "--index-dir", str(tmp_path / "cli-index"), "--json"]
    assert cli_main(["rename", *args]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli_main(["rename", *args, "--in-text"]) == 0
    wider = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in wider["files"]] == ["checks/snippets.py"] + [f["path"] for f in plain["files"]]
