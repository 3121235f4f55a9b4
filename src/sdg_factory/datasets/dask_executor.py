"""The ``dask`` executor: partitions computed and written by the workers of a Dask cluster.

Catalog (any partitioned dataset's ``executor:`` key)::

    executor: {type: dask, address: tcp://scheduler:8786}   # a running dask.distributed cluster
    executor: {type: dask, n_workers: 2}                    # a LocalCluster for this save

The scheduler is ``dask.distributed``'s own; this module only submits the tasks and collects
the outcomes. A task computes one partition, or several when they are short: the first tasks
hold one each and are timed on the workers, then each task gets enough partitions to last about
``batch_target_s`` (default 0.5 s; 0 = always one), capped so that the last tasks still spread
over every worker. Dask's per-task round trip (~20 ms of client and scheduler time, on cores the
workers need) then costs a few percent instead of a fifth of a 0.1 s render. Each task travels as
one pickle (:func:`task_payload`); a partition that cannot be pickled is recorded as failed, alone.
On the worker a task first sets what a pool worker's initializer sets (:func:`prepare_worker`).
Where the scheduler is:

1. ``address`` in the catalog entry, else
2. Dask's own ``scheduler-address`` setting (``DASK_SCHEDULER_ADDRESS=tcp://…``), else
3. a ``LocalCluster`` of ``n_workers`` worker processes (one thread each), started for the
   save and closed after it, with Dask's fine-grained diagnostics slowed down
   (:data:`LEAN_DIAGNOSTICS`; ``diagnostics: true`` keeps Dask's own).
   ``max_workers`` (the process executor's key, which an environment
   that only changes ``type`` inherits) counts as ``n_workers``.

Like the other executors, :meth:`DaskExecutor.run` yields ``(partition_id, error_or_None,
result)`` as each task finishes, keeps a bounded number of partitions in flight (``in_flight``;
by default two tasks per cluster thread), and returns a partition's error instead of raising it.

A worker that dies mid-task (killed, out of memory, its machine lost) is handled by the
scheduler: it runs the task again on another worker. That is safe here because a partition's
task is idempotent — its bytes come from ``item_rng(seed, partition_id)``, every file is written
atomically (a hidden temporary renamed into place locally, one PUT on an object store), and the
file that marks a partition complete is written last — so a re-run overwrites a half-written
partition with the same bytes and a reader never sees a truncated file. A task that keeps
killing its workers (``distributed.scheduler.allowed-failures``, 3 by default;
``allowed_failures`` here sets it for a LocalCluster) ends as ``KilledWorker``; a task of several
partitions is then split into one task each, so the one that kills its workers ends as
``KilledWorker`` alone, which is recorded as that partition's failure in the manifest; the other
partitions are written.

A ``LocalCluster`` started for a save does not outlive the ``kedro run`` that started it, even
when that run is killed with SIGKILL: Dask's worker processes hold a pipe to their parent and
exit as soon as it closes (``distributed.process.AsyncProcess``); the tests check it. A cluster
at an ``address`` is not the run's: it keeps serving other clients.

Workers need the ``sdg_factory`` package importable (same environment as the client) and access
to the storage (a shared ``s3://`` bucket for a multi-machine cluster).
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sdg_factory.allocator import keep_freed_memory
from sdg_factory.datasets.executors import JobResult, _call, describe_error, limit_threads, register_executor

logger = logging.getLogger(__name__)

_KEYS = {"address", "n_workers", "max_workers", "threads_per_worker", "in_flight",
         "allowed_failures", "connect_timeout", "worker_timeout", "mp_context", "batch_target_s",
         "diagnostics"}
_RENAMED = {"worker_profile": "diagnostics"}

# Dask's diagnostics wake every server's event loop (scheduler, nannies, workers) many times a
# second, and each wake-up takes the GIL from the task running beside it: the event-loop tick
# every 20 ms (a health metric; a loop blocked past ``distributed.admin.tick.limit``, 3 s, is still
# reported at 1 s), the statistical profiler every 10 ms (the dashboard's Profile tab) and the
# system monitor every 0.5 s (the dashboard's CPU/memory plots). On 2 cores they took ~5% of the
# machine during a render save: per-thread /proc counters of the scan-grid bench (512² cells),
# non-task CPU of the workers 4.0% -> 1.8% of their task time, of the client with its scheduler
# 6.6% -> 3.5% (2026-12-04). The memory monitor (100 ms) is left alone: it guards the memory limit.
LEAN_DIAGNOSTICS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}

TAIL_SHARE = 4  # a batch holds at most 1/(TAIL_SHARE × threads) of what is left: the tail stays balanced


_WORKER_LOCK = threading.Lock()
_WORKER_READY = False


def prepare_worker() -> None:
    """Once per Dask worker process, what a pool worker gets from its initializer (executors.py):
    freed memory kept for reuse (allocator.py; Dask's nanny starts its workers with
    ``MALLOC_TRIM_THRESHOLD_=65536``, which hands every big temporary back at once and faults it
    in again: ~30% of a 512² render cell) and the native thread pools capped at the worker's
    threads (OpenCV starts one per core, so two workers on two cores would run four)."""
    global _WORKER_READY
    with _WORKER_LOCK:
        if _WORKER_READY:
            return
        _WORKER_READY = True
        keep_freed_memory()
        try:
            from distributed import get_worker

            threads = int(get_worker().state.nthreads)
        except (ImportError, ValueError, AttributeError):  # not on a Dask worker
            return
        limit_threads(threads)


def _call_batch(fn: Callable, items: list[tuple[str, Any]]) -> tuple[list[JobResult], float]:
    """Several partitions in one Dask task (each one's error returned, not raised), and the
    seconds they took on the worker."""
    prepare_worker()
    start = time.perf_counter()
    results = [_call(fn, pid, job) for pid, job in items]
    return results, time.perf_counter() - start


def task_payload(fn: Callable, items: list[tuple[str, Any]]) -> bytes:
    """A task's function and partitions as one pickle, made as Dask makes its own (pickle, or
    cloudpickle for what pickle cannot send by reference) but in-band.

    Dask would serialise the arguments itself, each numpy array of a job as its own frame (a render
    cell's primitives: ~115 per task), and the client and scheduler handle every frame on the cores
    the workers need; one bytes frame a task halves their CPU (2.3 -> 1.2 s per 200 cells of 512²)."""
    from distributed.protocol import pickle

    return pickle.dumps((fn, items))


def _call_payload(payload: bytes) -> tuple[list[JobResult], float]:
    from distributed.protocol import pickle

    fn, items = pickle.loads(payload)
    return _call_batch(fn, items)


def batch_size(mean_item_s: float | None, target_s: float, remaining: int | None, threads: int) -> int:
    """How many partitions the next task gets: enough that a task lasts about ``target_s`` (Dask's
    per-task round trip, ~20 ms of client and scheduler time, is then a few percent), never so
    many that the last tasks leave workers idle. One while nothing has been measured yet."""
    if not mean_item_s or target_s <= 0:
        return 1
    size = max(1, int(target_s / mean_item_s))
    if remaining is not None:
        size = min(size, max(1, math.ceil(remaining / (TAIL_SHARE * threads))))
    return size


def next_batch(tasks: int, items: int, threads: int, size: int, in_flight: int | None) -> int:
    """How many partitions to submit now, given the ``tasks`` (holding ``items`` partitions) in
    flight: ``size`` while fewer than two tasks per thread are (one running, one queued), else 0.
    ``in_flight``, the catalog's bound, caps the partitions in flight instead of the tasks.

    Slots are counted in tasks, not partitions: a bound in partitions (two tasks' worth) refilled
    whatever one finished task freed, so a task of four that ended beside three of one made room
    for one more of one, and a save ran as a stream of one-partition tasks (111 tasks for 200
    cells where 4 a task was planned), each a round trip on the client and scheduler."""
    if in_flight:
        return min(size, max(1, in_flight // (2 * threads)), in_flight - items)
    return size if tasks < max(2, 2 * threads) else 0


class DaskExecutor:
    """Submits ``dask.distributed`` tasks of one or more partitions. See the module docstring."""

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int | None = None,
                 max_workers: int | None = None, threads_per_worker: int = 1,
                 in_flight: int | None = None, allowed_failures: int | None = None,
                 connect_timeout: float = 30, worker_timeout: float = 120, mp_context: str | None = None,
                 batch_target_s: float = 0.5, diagnostics: bool = False, **unknown: Any) -> None:
        # ``max_workers`` and ``mp_context`` are the process pool's keys, accepted so that an
        # environment can swap ``type: processes`` for ``type: dask`` with one key (environments
        # merge key by key). Dask starts its own worker processes: ``mp_context`` is unused.
        if unknown:
            raise ValueError(_unknown_keys(sorted(unknown)))
        self.address = address
        self.n_workers = int(n_workers or max_workers or os.cpu_count() or 1)
        self.threads_per_worker = int(threads_per_worker)
        self.in_flight = int(in_flight) if in_flight else None
        self.allowed_failures = allowed_failures
        self.connect_timeout = connect_timeout
        self.worker_timeout = worker_timeout
        self.batch_target_s = float(batch_target_s)
        if not isinstance(diagnostics, bool):
            raise ValueError(f"'diagnostics' of the catalog's 'executor: {{type: dask, …}}' is true or false, "
                             f"not {diagnostics!r}")
        self.diagnostics = diagnostics

    # --- the cluster ---------------------------------------------------------------------
    def scheduler_address(self) -> str | None:
        import dask

        return self.address or dask.config.get("scheduler-address", None)

    @contextlib.contextmanager
    def client(self):
        """A ``distributed.Client`` for one save: connected to ``address`` or a LocalCluster."""
        import dask
        from distributed import Client, LocalCluster

        address = self.scheduler_address()
        if address:
            try:
                client = Client(address, timeout=self.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise RuntimeError(
                    f"cannot reach the Dask scheduler at {address!r} (the catalog's executor address "
                    f"or DASK_SCHEDULER_ADDRESS): {exc}. Start it (`dask scheduler`, then `dask worker "
                    f"{address}` on each machine) or fix the address."
                ) from exc
            try:
                client.wait_for_workers(1, timeout=self.worker_timeout)
            except TimeoutError as exc:
                client.close()
                raise RuntimeError(
                    f"the Dask scheduler at {address!r} has no workers after {self.worker_timeout} s; "
                    f"start some with `dask worker {address}`"
                ) from exc
            try:
                yield client
            finally:
                client.close()
            return

        settings = {} if self.diagnostics else dict(LEAN_DIAGNOSTICS)
        if self.allowed_failures is not None:
            settings["distributed.scheduler.allowed-failures"] = int(self.allowed_failures)
        with dask.config.set(settings):
            cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                                   processes=True, dashboard_address=":0")
        logger.info("started a Dask LocalCluster with %d worker(s) at %s (dashboard: %s)", self.n_workers,
                    cluster.scheduler_address, cluster.dashboard_link)
        try:
            with Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()

    # --- the executor contract ----------------------------------------------------------
    def run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        from distributed import as_completed

        remaining = len(jobs) if hasattr(jobs, "__len__") else None
        job_iter = iter(jobs)
        first = next(job_iter, None)
        if first is None:  # nothing to compute: do not start a cluster
            return
        with self.client() as client:
            threads = sum(client.nthreads().values()) or 1
            token = uuid.uuid4().hex[:8]
            pending: dict = {}  # task key -> the (partition id, job) pairs it computes
            futures = as_completed(loop=client.loop)
            measured = {"items": 0, "seconds": 0.0}
            left = [remaining - 1 if remaining is not None else None]

            unsent: list[JobResult] = []  # partitions that could not be pickled: each costs only itself

            def drain_unsent() -> Iterator[JobResult]:
                while unsent:
                    yield unsent.pop(0)

            def submit(items: list[tuple[str, Any]]) -> None:
                try:
                    payload = task_payload(fn, items)
                except Exception as exc:  # noqa: BLE001 - recorded per partition
                    if len(items) > 1:
                        for item in items:
                            submit([item])
                    else:
                        unsent.append((items[0][0], f"cannot send the partition to the Dask workers: "
                                                    f"{describe_error(exc)}", None))
                    return
                key = f"sdg-write-{token}-{items[0][0]}" + (f"+{len(items) - 1}" if len(items) > 1 else "")
                future = client.submit(_call_payload, payload, key=key, pure=False)
                pending[future.key] = items
                futures.add(future)

            def top_up() -> None:
                while True:
                    mean = measured["seconds"] / measured["items"] if measured["items"] else None
                    size = next_batch(len(pending), sum(len(items) for items in pending.values()), threads,
                                      batch_size(mean, self.batch_target_s, left[0], threads), self.in_flight)
                    if size <= 0:
                        return
                    items = [item for item in (next(job_iter, None) for _ in range(size)) if item is not None]
                    if not items:
                        return
                    if left[0] is not None:
                        left[0] -= len(items)
                    submit(items)

            submit([first])
            top_up()
            yield from drain_unsent()
            for future in futures:
                items = pending.pop(future.key)
                try:
                    results, seconds = future.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost scheduler, a job that does not pickle
                    future.release()
                    if len(items) > 1:  # one partition may have killed its workers: each alone, so it costs only itself
                        for item in items:
                            submit([item])
                        continue
                    results = [(items[0][0], _reason(exc), None)]
                else:
                    measured["items"] += len(results)
                    measured["seconds"] += seconds
                yield from results
                future.release()
                top_up()
                yield from drain_unsent()
            yield from drain_unsent()  # a resubmitted partition that failed to pickle after the last task


def _unknown_keys(keys: list[str]) -> str:
    """The error for keys the executor does not take, each with the key it most likely meant."""
    hints = []
    for key in keys:
        if key in _RENAMED:
            hints.append(f"'{key}' (now '{_RENAMED[key]}')")
        elif close := difflib.get_close_matches(key, sorted(_KEYS), n=1):
            hints.append(f"'{key}' (did you mean '{close[0]}'?)")
        else:
            hints.append(f"'{key}'")
    return (f"unknown key(s) {', '.join(hints)} in the catalog's 'executor: {{type: dask, …}}'; "
            f"it takes: {', '.join(sorted(_KEYS))}")


def _reason(exc: BaseException) -> str:
    """Why a task has no result (the scheduler's words), for each partition it computed."""
    reason = f"{type(exc).__name__}: {exc}"
    if type(exc).__name__ == "KilledWorker":
        reason += (" (every worker that ran this partition died — often out of memory; "
                   "see the Dask worker logs)")
    return reason


register_executor("dask", DaskExecutor)
