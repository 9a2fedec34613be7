"""How often the index alone resolves the called name of an eval case to its gold definition.

Usage: ``python -m bench.resolution_eval CASES.jsonl`` on cases prepared by
``../shared/eval/prepare.py`` (which fetches the packages from PyPI/npm, so it is not part of
``make bench``). Only ``call`` cases whose prefix ends in a plain or dotted name followed by ``(``
count: that name, resolved from the case's file through ``Index.resolve``, must yield a
definition whose span holds the gold ``def_line``. It checks import and name resolution on real
code nobody here wrote. ``member`` cases (``v.m(`` and ``v.``) count when the member found through
the receiver's locally inferred class (``Index.receiver_classes``) holds the gold line.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from indexer import Index, IndexConfig

CALLED_NAME = re.compile(r"([A-Za-z_$][\w.$]*)\($")


def evaluate(cases_path: Path) -> tuple[Counter, Counter, list[tuple]]:
    cases = [json.loads(line) for line in cases_path.read_text().splitlines() if line.strip()]
    by_root: dict[str, list[dict]] = {}
    for case in cases:
        by_root.setdefault(case["root"], []).append(case)
    totals, hits, misses = Counter(), Counter(), []
    for root, root_cases in sorted(by_root.items()):
        with tempfile.TemporaryDirectory() as index_dir, Index(root, IndexConfig(index_dir=Path(index_dir))) as index:
            index.build()
            for case in root_cases:
                found = _member_candidates(index, case) if case["kind"] == "member" else _name_candidates(index, case)
                if found is None:
                    continue
                gold = case["gold"][0]
                hit = any(
                    d.path == gold["path"]
                    and d.definition.start_line <= gold["def_line"] <= d.definition.end_line
                    and d.definition.kind != "module"
                    for d in found
                )
                totals[case["kind"]] += 1
                hits[case["kind"]] += hit
                if not hit:
                    seen = [(d.path, d.definition.qualified_name) for d in found][:3]
                    misses.append((case["id"], case["line_prefix"].strip(), seen))
    return totals, hits, misses


def _name_candidates(index: Index, case: dict) -> list | None:
    match = CALLED_NAME.search(case["line_prefix"]) if case["variant"] == "call" else None
    if match is None or match.group(1).startswith(("self.", "this.")):
        return None
    return index.resolve(case["file"], match.group(1))


def _member_candidates(index: Index, case: dict) -> list:
    """``v.m(`` or ``v.`` (the member from the target): members of v's locally inferred class."""
    if case["variant"] == "call":
        receiver, member = re.search(r"([\w.]+)\.(\w+)\($", case["line_prefix"]).groups()
    else:
        receiver = re.search(r"([\w.]+)\.$", case["line_prefix"]).group(1)
        member = re.match(r"\w+", case["target"]).group(0)
    lines = (Path(case["root"]) / case["file"]).read_text(encoding="utf-8").split("\n")
    lines[case["line"] - 1] = case["line_prefix"]  # the editor buffer: the rest of the line is not typed yet
    classes = index.receiver_classes(case["file"], case["line"], receiver, text="\n".join(lines))
    return [d for klass in classes for d in index.members(klass, member)]


def main() -> None:
    totals, hits, misses = evaluate(Path(sys.argv[1]))
    for kind in sorted(totals):
        print(f"  {kind:<8} {hits[kind]:>4} / {totals[kind]:<4}")
    print(f"  {'all':<8} {sum(hits.values()):>4} / {sum(totals.values())}")
    for miss in misses:
        print("  miss:", *miss)


if __name__ == "__main__":
    main()
