"""The process-pool partition executor with 2 workers versus serial, on the scan-grid render."""

from __future__ import annotations

import shutil
import tempfile

from benchmarks.pcba_fixture import render_jobs
from benchmarks.report import best_of
from sdg_factory.datasets import ReplicatorRenderFolderDataset


def run() -> dict:
    jobs = render_jobs("1152819000")
    times = {}
    for name, executor in (("serial", "serial"), ("processes x2", {"type": "processes", "max_workers": 2})):
        def once(executor=executor):
            folder = tempfile.mkdtemp(prefix="sdg-exec-")
            ReplicatorRenderFolderDataset(path=folder, executor=executor, progress=False).save(jobs)
            shutil.rmtree(folder)

        times[name] = best_of(once, repeat=3)
    n = len(jobs)
    return {"title": "Partition executor: 2 worker processes vs serial",
            "what": f"Rendering and writing the {n} scan-grid cells of board 1152819000 (CPU-bound) through "
                    "ReplicatorRenderFolderDataset with each executor.",
            "rows": [{"case": f"{n} cells", "ours": n / times["processes x2"], "peer": n / times["serial"],
                      "unit": "cells/s", "ratio": times["serial"] / times["processes x2"], "target": ">= 1.8"}],
            "notes": ["ours = processes executor (2 workers, fork); peer = serial executor, same jobs, same run.",
                      "Quiet 2-core machine, 2026-11-21: 1.78-1.88 over three runs. Before the render's "
                      "shading was computed per triangle it was 1.1-1.3: a per-pixel BLAS product already "
                      "used both cores in the serial run (and oversubscribed them in the pool).",
                      "Quiet machine, 2026-12-01 23:15 (load < 1.5), the 10x10 scan grid: 1.92 "
                      "(issue 18's target 1.8 met)."]}
