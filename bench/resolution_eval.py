"""How often the index alone resolves the called name of an eval case to its gold definition.

Usage: ``python -m bench.resolution_eval CASES.jsonl`` on cases prepared by
``../shared/eval/prepare.py`` (which fetches the packages from PyPI/npm, so it is not part of
``make bench``). Only ``call`` cases whose prefix ends in a plain or dotted name followed by ``(``
count: that name, resolved from the case's file through ``Index.resolve``, must yield a
definition whose span holds the gold ``def_line``. It checks import and name resolution on real
code nobody here wrote; receiver inference (``self.x.m(``) is context packing's job.
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
                match = CALLED_NAME.search(case["line_prefix"]) if case["variant"] == "call" else None
                if match is None or match.group(1).startswith(("self.", "this.")):
                    continue
                gold = case["gold"][0]
                found = index.resolve(case["file"], match.group(1))
                hit = any(
                    d.path == gold["path"] and d.definition.start_line <= gold["def_line"] <= d.definition.end_line
                    and d.definition.kind != "module"
                    for d in found
                )
                totals[case["kind"]] += 1
                hits[case["kind"]] += hit
                if not hit:
                    seen = [(d.path, d.definition.qualified_name) for d in found][:3]
                    misses.append((case["id"], match.group(1), seen))
    return totals, hits, misses


def main() -> None:
    totals, hits, misses = evaluate(Path(sys.argv[1]))
    for kind in sorted(totals):
        print(f"  {kind:<8} {hits[kind]:>4} / {totals[kind]:<4}")
    print(f"  {'all':<8} {sum(hits.values()):>4} / {sum(totals.values())}")
    for miss in misses:
        print("  miss:", *miss)


if __name__ == "__main__":
    main()
