"""kill -9 while editing (buffers and saves interleaved): the index restarts intact and equal to a fresh one."""

from __future__ import annotations

from bench.crash_eval import kill_while_editing
from tests.conftest import write_tree


def test_killed_mid_editing_restarts_to_the_same_index_as_a_fresh_build(tmp_path):
    body = "".join(f"def f_{i}(x):\n    return helper(x) + {i}\n\n\n" for i in range(40))
    files = {f"pkg/m{n:02}.py": f"from .m{(n + 1) % 12:02} import f_0 as helper\n\n\n{body}" for n in range(12)}
    source = write_tree(tmp_path / "source", {**files, "pkg/__init__.py": ""})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for step, jitter_ms in ((2, 0.0), (5, 3.0)):  # right after a save, and a few ms into the next buffer edit
        outcome = kill_while_editing(source, scratch, step, jitter_ms)
        assert outcome.intact, outcome
        assert outcome.matches_fresh, outcome
