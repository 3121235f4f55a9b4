"""Executors that compute and write partitions: serial, a local process pool, a Dask cluster.

An executor takes a function and ``(partition_id, job)`` pairs and yields
``(partition_id, error_text_or_None, result)`` as each finishes. Errors are returned, not
raised, so one bad partition never aborts the others. The number of jobs in flight is
bounded, so memory stays flat however many partitions there are.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

JobResult = tuple[str, "str | None", Any]


def _call(fn: Callable, pid: str, job: Any) -> JobResult:
    try:
        return pid, None, fn(pid, job)
    except Exception as exc:  # noqa: BLE001 - recorded per partition
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return pid, detail, None


class SerialExecutor:
    """Runs each job in this process, one after another."""

    name = "serial"

    def __init__(self, **_: Any) -> None:
        pass

    def run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        for pid, job in jobs:
            yield _call(fn, pid, job)


def limit_threads(threads: int) -> None:
    """Cap the native thread pools of this process (OpenCV, torch, BLAS/OpenMP) at ``threads``.

    Runs in each pool worker, so ``max_workers`` processes share the cores instead of each
    starting one thread per core (oversubscription makes a pool slower than serial)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import cv2

    # a forked worker inherits the parent's OpenCV pool, already capped by ProcessExecutor.run;
    # setting it again there can deadlock on the parent's (absent) pool threads
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)
    torch = sys.modules.get("torch")  # only if already imported: never pay torch's import here
    if torch is not None:
        torch.set_num_threads(threads)


class ProcessExecutor:
    """Runs jobs in a local process pool (``max_workers`` defaults to the CPU count).

    Jobs and the function must be picklable: nodes return ``functools.partial`` objects of
    module-level functions rather than lambdas or closures. Each worker's native thread pools
    get ``threads_per_worker`` threads (default: the cores divided among the workers).
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None, mp_context: str | None = None,
                 threads_per_worker: int | None = None, **_: Any):
        self.max_workers = int(max_workers or os.cpu_count() or 1)
        default_ctx = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self.mp_context = mp_context or default_ctx
        self.threads_per_worker = int(threads_per_worker or max(1, (os.cpu_count() or 1) // self.max_workers))

    def run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        ctx = multiprocessing.get_context(self.mp_context)
        window = 2 * self.max_workers
        cv2 = sys.modules.get("cv2") if self.mp_context == "fork" else None
        previous = cv2.getNumThreads() if cv2 is not None else None
        if cv2 is not None:  # forked workers copy this setting (see limit_threads)
            cv2.setNumThreads(self.threads_per_worker)
        try:
            yield from self._run(ctx, window, fn, jobs)
        finally:
            if cv2 is not None:
                cv2.setNumThreads(previous)

    def _run(self, ctx, window: int, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        with ProcessPoolExecutor(max_workers=self.max_workers, mp_context=ctx, initializer=limit_threads,
                                 initargs=(self.threads_per_worker,)) as pool:
            pending: dict = {}
            job_iter = iter(jobs)
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < window:
                    try:
                        pid, job = next(job_iter)
                    except StopIteration:
                        exhausted = True
                        break
                    pending[pool.submit(_call, fn, pid, job)] = pid
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    pid = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died or a job did not pickle
                        yield pid, f"{type(exc).__name__}: {exc}", None


EXECUTORS: dict[str, type] = {"serial": SerialExecutor, "processes": ProcessExecutor}
# kinds whose module is imported only when a catalog asks for them (it registers itself)
LAZY_EXECUTORS: dict[str, str] = {"dask": "sdg_factory.datasets.dask_executor"}


def register_executor(name: str, cls: type) -> None:
    """Add an executor kind (the Dask executor registers itself this way)."""
    EXECUTORS[name] = cls


def make_executor(spec: str | dict | None):
    """Build an executor from catalog config: ``"serial"``, ``{type: processes, max_workers: 2}``
    or ``{type: dask, address: tcp://scheduler:8786}``."""
    if spec is None:
        spec = "serial"
    if isinstance(spec, str):
        spec = {"type": spec}
    spec = dict(spec)
    kind = spec.pop("type", "serial")
    if kind not in EXECUTORS and kind in LAZY_EXECUTORS:
        importlib.import_module(LAZY_EXECUTORS[kind])
    if kind not in EXECUTORS:
        raise ValueError(
            f"unknown executor {kind!r} in the catalog's 'executor:' key; "
            f"choose one of {sorted(EXECUTORS)}"
        )
    return EXECUTORS[kind](**spec)
