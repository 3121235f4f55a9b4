"""The ``dask`` executor: partitions computed and written by the workers of a Dask cluster.

Catalog (any partitioned dataset's ``executor:`` key)::

    executor: {type: dask, address: tcp://scheduler:8786}   # a running dask.distributed cluster
    executor: {type: dask, n_workers: 2}                    # a LocalCluster for this save

The scheduler is ``dask.distributed``'s own; this module only submits one task per partition
and collects the outcomes. Where the scheduler is:

1. ``address`` in the catalog entry, else
2. Dask's own ``scheduler-address`` setting (``DASK_SCHEDULER_ADDRESS=tcp://…``), else
3. a ``LocalCluster`` of ``n_workers`` worker processes (one thread each), started for the
   save and closed after it. ``max_workers`` (the process executor's key, which an environment
   that only changes ``type`` inherits) counts as ``n_workers``.

Like the other executors, :meth:`DaskExecutor.run` yields ``(partition_id, error_or_None,
result)`` as each partition finishes, keeps a bounded number of tasks in flight (``in_flight``,
default twice the cluster's threads), and returns a partition's error instead of raising it.

A worker that dies mid-task (killed, out of memory, its machine lost) is handled by the
scheduler: it runs the task again on another worker. That is safe here because a partition's
task is idempotent — its bytes come from ``item_rng(seed, partition_id)``, every file is written
atomically (a hidden temporary renamed into place locally, one PUT on an object store), and the
file that marks a partition complete is written last — so a re-run overwrites a half-written
partition with the same bytes and a reader never sees a truncated file. A task that keeps
killing its workers (``distributed.scheduler.allowed-failures``, 3 by default;
``allowed_failures`` here sets it for a LocalCluster) ends as ``KilledWorker``, which is recorded
as that partition's failure in the manifest; the other partitions are written.

A ``LocalCluster`` started for a save does not outlive the ``kedro run`` that started it, even
when that run is killed with SIGKILL: Dask's worker processes hold a pipe to their parent and
exit as soon as it closes (``distributed.process.AsyncProcess``); the tests check it. A cluster
at an ``address`` is not the run's: it keeps serving other clients.

Workers need the ``sdg_factory`` package importable (same environment as the client) and access
to the storage (a shared ``s3://`` bucket for a multi-machine cluster).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sdg_factory.datasets.executors import JobResult, _call, register_executor

logger = logging.getLogger(__name__)

_KEYS = {"address", "n_workers", "max_workers", "threads_per_worker", "in_flight",
         "allowed_failures", "connect_timeout", "worker_timeout", "mp_context"}


class DaskExecutor:
    """Submits one ``dask.distributed`` task per partition. See the module docstring."""

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int | None = None,
                 max_workers: int | None = None, threads_per_worker: int = 1,
                 in_flight: int | None = None, allowed_failures: int | None = None,
                 connect_timeout: float = 30, worker_timeout: float = 120, mp_context: str | None = None,
                 **unknown: Any) -> None:
        # ``max_workers`` and ``mp_context`` are the process pool's keys, accepted so that an
        # environment can swap ``type: processes`` for ``type: dask`` with one key (environments
        # merge key by key). Dask starts its own worker processes: ``mp_context`` is unused.
        if unknown:
            raise ValueError(
                f"unknown key(s) {sorted(unknown)} in the catalog's 'executor: {{type: dask, …}}'; "
                f"the dask executor takes {sorted(_KEYS)}"
            )
        self.address = address
        self.n_workers = int(n_workers or max_workers or os.cpu_count() or 1)
        self.threads_per_worker = int(threads_per_worker)
        self.in_flight = int(in_flight) if in_flight else None
        self.allowed_failures = allowed_failures
        self.connect_timeout = connect_timeout
        self.worker_timeout = worker_timeout

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

        settings = {}
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

        job_iter = iter(jobs)
        first = next(job_iter, None)
        if first is None:  # nothing to compute: do not start a cluster
            return
        with self.client() as client:
            threads = sum(client.nthreads().values()) or 1
            window = self.in_flight or max(2, 2 * threads)
            token = uuid.uuid4().hex[:8]
            pending: dict = {}
            futures = as_completed(loop=client.loop)

            def submit(pid: str, job: Any) -> None:
                future = client.submit(_call, fn, pid, job, key=f"sdg-write-{token}-{pid}", pure=False)
                pending[future.key] = pid
                futures.add(future)

            def top_up() -> None:
                while len(pending) < window:
                    item = next(job_iter, None)
                    if item is None:
                        return
                    submit(*item)

            submit(*first)
            top_up()
            for future in futures:
                pid = pending.pop(future.key)
                yield _outcome(future, pid)
                future.release()
                top_up()


def _outcome(future, pid: str) -> JobResult:
    """The ``_call`` result of a finished task, or the scheduler's reason it has none."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost scheduler, a job that does not pickle
        reason = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "KilledWorker":
            reason += (" (every worker that ran this partition died — often out of memory; "
                       "see the Dask worker logs)")
        return pid, reason, None


register_executor("dask", DaskExecutor)
