"""Benchmarks, run as ``python -m bench.<name>``; each prints ``name: value`` lines. Not tests."""
