"""Recall of gold definitions within a token budget, on cases mined from real packages.

Case format and metric: ../shared/eval/README.md. A gold span is covered when a packed item of the
same path contains its ``def_line``; a case is a hit when every gold span is covered. The packer sees
the editor buffer: the case's file with the text after the cursor on the cursor's line removed.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine import Tokenizer

from .context import ContextPacker, Cursor, Pack, PackRequest
from .workspace import Workspace, WorkspaceSettings

BREAKDOWNS = ("variant", "kind", "package")


@dataclass(frozen=True)
class Case:
    id: str
    root: Path
    file: str
    line: int
    col: int
    line_prefix: str
    gold: tuple[dict, ...]
    attributes: dict[str, str]

    @classmethod
    def from_json(cls, data: dict, base: Path) -> Case:
        root = Path(data["root"])
        if not root.is_absolute():
            root = base / root
        attributes = {key: str(data.get(key, "")) for key in BREAKDOWNS}
        return cls(
            data["id"],
            root,
            data["file"],
            data["line"],
            data["col"],
            data["line_prefix"],
            tuple(data["gold"]),
            attributes,
        )

    def buffer(self) -> str:
        """The original file with the text after the cursor on its line removed."""
        raw = (self.root / self.file).read_bytes().decode("utf-8", "replace")
        lines = [line[:-1] if line.endswith("\r") else line for line in raw.split("\n")]
        lines[self.line - 1] = self.line_prefix
        return "\n".join(lines)

    def is_hit(self, pack: Pack) -> bool:
        return all(self._covered(gold, pack) for gold in self.gold)

    def _covered(self, gold: dict, pack: Pack) -> bool:
        return any(
            item.path == gold["path"] and item.start_line <= gold["def_line"] <= item.end_line
            for item in pack.items
            if item.path != self.file
        )


@dataclass
class Score:
    hits: int = 0
    cases: int = 0

    @property
    def recall(self) -> float:
        return self.hits / self.cases if self.cases else 0.0


@dataclass
class Report:
    budgets: list[int]
    strategies: list[str]
    overall: dict[tuple[str, int], Score] = field(default_factory=dict)
    by: dict[tuple[str, int, str, str], Score] = field(default_factory=dict)
    results: list[dict] = field(default_factory=list)
    tokens_note: str = ""

    def add(self, case: Case, strategy: str, budget: int, pack: Pack) -> None:
        hit = case.is_hit(pack)
        for key in [(strategy, budget)]:
            score = self.overall.setdefault(key, Score())
            score.cases += 1
            score.hits += hit
        for dimension, value in case.attributes.items():
            if value:
                score = self.by.setdefault((strategy, budget, dimension, value), Score())
                score.cases += 1
                score.hits += hit
        self.results.append(
            {
                "id": case.id,
                "strategy": strategy,
                "budget": budget,
                "hit": hit,
                "tokens": pack.tokens,
                "items": len(pack.items),
            }
        )

    def to_json(self) -> dict:
        def breakdown(strategy: str, budget: int) -> dict:
            out: dict[str, dict[str, float]] = defaultdict(dict)
            for (s, b, dimension, value), score in sorted(self.by.items()):
                if (s, b) == (strategy, budget):
                    out[dimension][value] = round(score.recall, 4)
            return out

        return {
            "budgets": self.budgets,
            "tokens": self.tokens_note,
            "strategies": {
                strategy: {
                    str(budget): {
                        "recall": round(self.overall[(strategy, budget)].recall, 4),
                        "hits": self.overall[(strategy, budget)].hits,
                        "cases": self.overall[(strategy, budget)].cases,
                        **breakdown(strategy, budget),
                    }
                    for budget in self.budgets
                    if (strategy, budget) in self.overall
                }
                for strategy in self.strategies
            },
            "cases": self.results,
        }


def load_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                cases.append(Case.from_json(json.loads(line), path.parent))
            except (KeyError, ValueError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a valid case ({error})") from error
    return cases


def evaluate(
    cases: Iterable[Case],
    budgets: list[int],
    strategies: list[str],
    tokenizer: Tokenizer,
    settings: WorkspaceSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    report = Report(budgets, strategies, tokens_note=f"{tokenizer.name} ({'exact' if tokenizer.exact else 'estimate'})")
    by_root: dict[Path, list[Case]] = defaultdict(list)
    for case in cases:
        by_root[case.root].append(case)
    for root, root_cases in by_root.items():
        with Workspace(root, _settings_for(root, settings)) as workspace:
            workspace.build_index()
            packer = ContextPacker(workspace.index, tokenizer)
            for case in root_cases:
                _run_case(case, workspace, packer, budgets, strategies, report)
                if progress:
                    progress(1)
    return report


def _settings_for(root: Path, settings: WorkspaceSettings | None) -> WorkspaceSettings | None:
    """One index per workspace root: a shared --index-dir gets a subfolder per root."""
    if settings is None or settings.index_dir is None:
        return settings
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    return replace(settings, index_dir=settings.index_dir / f"{root.name}-{digest}")


def _run_case(case, workspace, packer, budgets, strategies, report) -> None:
    buffer = case.buffer()
    workspace.index.update(case.file, buffer)
    try:
        cursor = Cursor(case.file, case.line, case.col, buffer)
        for strategy in strategies:
            for budget in budgets:
                report.add(case, strategy, budget, packer.pack(PackRequest(cursor, budget, strategy)))
    finally:
        workspace.index.close_buffer(case.file)
