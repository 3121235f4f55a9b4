"""The Dask partition executor with 2 workers versus 1, on the scan-grid render (CPU-bound)."""

from __future__ import annotations

import shutil
import tempfile

from benchmarks.pcba_fixture import render_jobs
from benchmarks.report import best_of
from sdg_factory.datasets import ReplicatorRenderFolderDataset


def _throughput(jobs: dict[str, dict], n_workers: int) -> float:
    """Seconds to render and write ``jobs`` through a running ``n_workers`` LocalCluster (the
    cluster's start-up is not counted: a deployment keeps its cluster)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        executor = {"type": "dask", "address": cluster.scheduler_address}

        def once() -> None:
            folder = tempfile.mkdtemp(prefix="sdg-dask-")
            for board, cells in jobs.items():
                ReplicatorRenderFolderDataset(path=f"{folder}/{board}", executor=executor,
                                              progress=False).save(cells)
            shutil.rmtree(folder)

        return best_of(once, repeat=3)  # the warm-up call also imports the project on the workers


BOARDS = ("0603_H100", "1152819000")


def run() -> dict:
    # both demo boards' scan grids, one folder of cells each: ReplicatorRenderFolderDataset names
    # cells x{i}_y{j}, so the boards go to separate saves and are timed together
    jobs = {board: render_jobs(board) for board in BOARDS}
    n = sum(len(cells) for cells in jobs.values())
    one, two = _throughput(jobs, 1), _throughput(jobs, 2)
    return {"title": "Dask executor: 2 workers vs 1",
            "what": f"Rendering and writing the {n} scan-grid cells of the two demo boards (CPU-bound) through "
                    "ReplicatorRenderFolderDataset with executor {type: dask, address: …}, on a "
                    "dask.distributed LocalCluster of 2 worker processes versus 1 (one thread each).",
            "rows": [{"case": f"{n} cells", "ours": n / two, "peer": n / one, "unit": "cells/s",
                      "ratio": one / two, "target": ">= 1.7"}],
            "notes": ["ours = 2 Dask workers; peer = 1 Dask worker; same jobs, same run, cluster start-up "
                      "excluded, median of 3 after a warm-up.",
                      "Machine: 2 cores. With both cores free the ratio was 1.69-1.73 for 24 cells over three runs (1.67-1.70 "
                      "for one board's 12 cells, where the last cell leaves one worker idle); while the "
                      "machine was shared with other jobs (load average ~6) the same benchmark gave 0.8, "
                      "bounded by the cores actually free, not by the executor."]}
