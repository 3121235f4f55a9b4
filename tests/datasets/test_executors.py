"""The process pool caps each worker's native threads, so workers share the cores."""

from __future__ import annotations

import os

import cv2

from sdg_factory.datasets.executors import ProcessExecutor, make_executor


def _threads(pid: str, job: int) -> tuple[int, str, int]:
    return cv2.getNumThreads(), os.environ.get("OMP_NUM_THREADS", ""), os.getpid()


def test_process_workers_get_their_share_of_the_cores():
    executor = make_executor({"type": "processes", "max_workers": 2, "threads_per_worker": 1})
    results = list(executor.run(_threads, [(f"p{i}", i) for i in range(4)]))
    assert all(error is None for _, error, _ in results), results
    assert {r[:2] for _, _, r in results} == {(1, "1")}
    assert os.getpid() not in {r[2] for _, _, r in results}  # really other processes
    assert ProcessExecutor(max_workers=os.cpu_count() or 1).threads_per_worker == 1
    assert ProcessExecutor(max_workers=1).threads_per_worker == (os.cpu_count() or 1)
