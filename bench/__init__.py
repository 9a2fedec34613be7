"""Benchmarks: each prints a table and writes JSON under bench/results/. Run with ``make bench``."""
