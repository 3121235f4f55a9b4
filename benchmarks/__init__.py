"""Benchmarks: each ``bench_*.py`` measures our code against a peer in the same run.

``python -m benchmarks`` (or ``make bench``) runs them all, stores each result in
``benchmarks/results/<name>.json`` and renders ``docs/benchmarks.md`` from every stored
result; ``python -m benchmarks NAME`` runs one. Timings are never asserted in tests.
"""
