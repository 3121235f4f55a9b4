"""Run benchmarks and render docs/benchmarks.md. Usage: python -m benchmarks [NAME ...]."""

from __future__ import annotations

import sys

from benchmarks.report import discover, render_report, run_benchmark


def main(argv: list[str]) -> int:
    names = argv or sorted(discover())
    for name in names:
        run_benchmark(name)
    path = render_report()
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
