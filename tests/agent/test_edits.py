"""Positions and edits over plain text: lines end at "\\n" (as in LSP), never at a form feed."""

from __future__ import annotations

import pytest

from agent.edits import Position, Range, TextEdit, apply_edits, offset_of


def test_a_form_feed_is_part_of_its_line():
    text = "import os\n\x0c\ndef f():\n    pass\n"  # stdlib files separate sections with form feeds
    assert offset_of(text, Position(2, 4)) == text.index("f():")


def test_edits_apply_across_crlf_lines_and_at_the_end():
    text = "ab\r\ncd\n"
    edits = [TextEdit(Range.of(0, 2, 1, 0), "|"), TextEdit(Range.of(2, 0, 2, 0), "end")]
    assert apply_edits(text, edits) == "ab|cd\nend"


def test_positions_outside_the_text_and_overlaps_are_refused():
    with pytest.raises(ValueError):
        offset_of("ab\ncd", Position(1, 3))
    with pytest.raises(ValueError):
        offset_of("ab\ncd", Position(4, 0))
    with pytest.raises(ValueError):
        apply_edits("abcd", [TextEdit(Range.of(0, 0, 0, 2), "x"), TextEdit(Range.of(0, 1, 0, 3), "y")])
