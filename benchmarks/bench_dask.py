"""The Dask partition executor with 2 workers versus 1, on the scan-grid render (CPU-bound)."""

from __future__ import annotations

import os
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

        # the warm-up call also imports the project on the workers
        return best_of(once, repeat=int(os.environ.get("SDG_BENCH_DASK_REPEAT", "3")))


BOARDS = ("0603_H100", "1152819000")


def run() -> dict:
    # both demo boards' scan grids at the cookbooks' 512², one folder of cells each:
    # ReplicatorRenderFolderDataset names cells x{i}_y{j}, so the boards go to separate saves and
    # are timed together; then one board at 1024² (a camera-sized tile, 4x the work per task), to
    # show the per-task cost of Dask. 10x10 grids: 200 + 100 cells, so the whole bench fits ~10 min.
    rows = []
    for resolution, boards in ((None, BOARDS), ((1024, 1024), BOARDS[:1])):
        jobs = {board: render_jobs(board, resolution=resolution) for board in boards}
        n = sum(len(cells) for cells in jobs.values())
        one, two = _throughput(jobs, 1), _throughput(jobs, 2)
        size = "x".join(map(str, resolution or (512, 512)))
        rows.append({"case": f"{n} cells of {size}", "ours": n / two, "peer": n / one, "unit": "cells/s",
                     "ratio": one / two, "target": ">= 1.8"})
    return {"title": "Dask executor: 2 workers vs 1",
            "what": "Rendering and writing the scan-grid cells of the two demo boards (CPU-bound) through "
                    "ReplicatorRenderFolderDataset with executor {type: dask, address: …}, on a "
                    "dask.distributed LocalCluster of 2 worker processes versus 1 (one thread each); at the "
                    "cookbooks' 512x512 (both boards) and at 1024x1024 per cell (one board).",
            "rows": rows,
            "notes": ["ours = 2 Dask workers; peer = 1 Dask worker; same jobs, same run, cluster start-up "
                      "excluded, median of 3 after a warm-up (SDG_BENCH_DASK_REPEAT).",
                      "Machine: 2 cores, which the scheduler and client share with the workers. A 512x512 "
                      "cell takes ~0.1 s, so Dask's per-task round trip (~20 ms on the client and "
                      "scheduler, which compete with the workers only when both cores are busy) costs "
                      "the 2-worker run a few percent: quiet-machine runs gave 1.63-1.75 at 512x512. With "
                      "4x the pixels per task the same overhead is amortised (second row).",
                      "Shading used to gather float64 normals per pixel and multiply them with a BLAS "
                      "matrix-vector product that itself used both cores, so one process already took two "
                      "and two workers gave ~1.2x; shading per triangle (byte-identical output) fixed it."]}
