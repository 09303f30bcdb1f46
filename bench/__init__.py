"""Benchmarks: run with `make bench` (or `python -m bench`); each figure is printed with its target."""
