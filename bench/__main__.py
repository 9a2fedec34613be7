"""Run every benchmark in turn: ``python -m bench`` (what ``make bench`` does)."""

from __future__ import annotations

from . import index_bench


def main() -> None:
    index_bench.run()


if __name__ == "__main__":
    main()
