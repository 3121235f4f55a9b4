"""Executors that compute and write partitions: serial, a local process pool, a Dask cluster.

An executor takes a function and ``(partition_id, job)`` pairs and yields
``(partition_id, error_text_or_None, result)`` as each finishes. Errors are returned, not
raised, so one bad partition never aborts the others. The number of jobs in flight is
bounded, so memory stays flat however many partitions there are.

A worker process that dies (the out-of-memory killer, ``kill -9``, a crash in native code)
costs its own item, not the save: the process executor records that item as failed with the
reason, resubmits the other items that were in flight to a rebuilt pool, and goes on (see
:class:`ProcessExecutor`). Workers also die with their parent: a ``kedro run`` killed with
``kill -9`` leaves no worker computing on (see :func:`exit_with_parent`).
"""

from __future__ import annotations

import collections
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sdg_factory.allocator import keep_freed_memory

logger = logging.getLogger(__name__)

JobResult = tuple[str, "str | None", Any]

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def describe_error(exc: BaseException) -> str:
    """How a partition's failure is recorded: the exception's type and message, one line each."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _call(fn: Callable, pid: str, job: Any) -> JobResult:
    try:
        return pid, None, fn(pid, job)
    except Exception as exc:  # noqa: BLE001 - recorded per partition
        return pid, describe_error(exc), None


class SerialExecutor:
    """Runs each job in this process, one after another."""

    name = "serial"

    def __init__(self, **_: Any) -> None:
        pass

    def run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        for pid, job in jobs:
            yield _call(fn, pid, job)


def limit_threads(threads: int) -> None:
    """Cap the native thread pools of this process (OpenCV now; OpenMP/BLAS/torch loaded later)
    at ``threads``.

    Runs in each pool worker, so ``max_workers`` processes share the cores instead of each
    starting one thread per core (oversubscription makes a pool slower than serial). torch is
    deliberately not called here: ``torch.set_num_threads`` in a worker forked from a parent
    whose OpenMP pool has run deadlocks; the environment variables reach a spawned worker's torch.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import cv2

    # a forked worker inherits the parent's OpenCV setting, capped by ProcessExecutor.run before
    # forking: setting it again there can deadlock on the parent's (absent) pool threads
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)


def exit_with_parent(parent_pid: int | None = None, poll_s: float = 1.0) -> None:
    """Make this process die when its parent does (called in each pool worker).

    On Linux the kernel sends SIGKILL the moment the parent exits (``PR_SET_PDEATHSIG``); as a
    fallback (other systems, or a parent that died before the call) a daemon thread checks every
    ``poll_s`` seconds that ``os.getppid()`` is still the parent and kills this process if not.
    ``parent_pid`` is the process that should be the parent (default: the current parent).
    """
    parent_pid = parent_pid or os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the thread below still watches
            pass
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="sdg-exit-with-parent", daemon=True).start()


# set in each pool worker by _init_worker: where the worker says which item it starts
_STARTS = None


def _init_worker(threads: int, parent_pid: int | None, starts, fresh_process: bool = False) -> None:
    global _STARTS
    _STARTS = starts
    # a forked worker inherits the parent's Python signal handlers; the broken pool's SIGTERM must
    # end it plainly (exit status -15 tells the executor it was not the worker that died)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    exit_with_parent(parent_pid)
    limit_threads(threads)
    if fresh_process:  # a forked worker has the parent's malloc settings; a spawned one sets its own
        keep_freed_memory()


def _tracked_call(fn: Callable, pid: str, job: Any) -> JobResult:
    """``_call`` in a pool worker, which first tells the parent which item it is computing, so
    that the item of a worker that dies can be named. (One short message is one ``write`` to a
    pipe, atomic: a worker killed while sending it sends all of it or nothing.)"""
    if _STARTS is not None:
        _STARTS.put((os.getpid(), pid))
    return _call(fn, pid, job)


def death_reason(exitcode: int | None) -> str:
    """Why a worker process ended, in words, from its exit code (negative: killed by a signal)."""
    if exitcode is None:
        return "worker process died (exit status unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        hint = " — often the out-of-memory killer" if -exitcode == signal.SIGKILL else ""
        return f"worker process died (signal {-exitcode}, {name}{hint})"
    return f"worker process died (exit code {exitcode})"


class ProcessExecutor:
    """Runs jobs in a local process pool (``max_workers`` defaults to the CPU count).

    Jobs and the function must be picklable: nodes return ``functools.partial`` objects of
    module-level functions rather than lambdas or closures. Each worker's native thread pools
    get ``threads_per_worker`` threads (default: the cores divided among the workers).

    A dying worker breaks a ``ProcessPoolExecutor`` for every job in it. Here each worker first
    reports which item it starts, so when the pool breaks the in-flight items are sorted:

    - the item of a worker that died on its own (not one the broken pool terminated itself) is
      recorded as failed with the reason (``worker process died (signal 9, SIGKILL …) while
      computing this item``) — it is not retried in this run; the next run computes it again;
    - items that were queued, or running in workers that the broken pool terminated, are
      innocent: they go first into a rebuilt pool, and the remaining jobs follow;
    - if the dead worker's item cannot be told (no report, several candidates, unknown exit
      status), each running candidate is retried once alone in a fresh one-worker pool, and the
      ones that kill that worker too are recorded as failed.

    Workers exit when their parent process dies (:func:`exit_with_parent`).
    """

    name = "processes"

    def __init__(self, max_workers: int | None = None, mp_context: str | None = None,
                 threads_per_worker: int | None = None, **_: Any):
        self.max_workers = int(max_workers or os.cpu_count() or 1)
        default_ctx = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self.mp_context = mp_context or default_ctx
        self.threads_per_worker = int(threads_per_worker or max(1, (os.cpu_count() or 1) // self.max_workers))

    def run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        cv2 = sys.modules.get("cv2") if self.mp_context == "fork" else None
        previous = cv2.getNumThreads() if cv2 is not None else None
        if cv2 is not None:  # forked workers copy this setting (see limit_threads)
            cv2.setNumThreads(self.threads_per_worker)
        try:
            yield from self._run(fn, jobs)
        finally:
            if cv2 is not None:
                cv2.setNumThreads(previous)

    def _pool(self, workers: int):
        ctx = multiprocessing.get_context(self.mp_context)
        starts = ctx.SimpleQueue()
        # a forkserver's workers are the server's children, not ours: they watch whoever forked them
        parent = None if self.mp_context == "forkserver" else os.getpid()
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(self.threads_per_worker, parent, starts, self.mp_context != "fork"))
        return pool, starts

    def _run(self, fn: Callable, jobs: Iterable[tuple[str, Any]]) -> Iterator[JobResult]:
        window = 2 * self.max_workers
        job_iter = iter(jobs)
        retry: collections.deque = collections.deque()  # innocent items of a broken pool, first
        exhausted = False
        fruitless_breaks = 0  # pools in a row that broke before any worker started an item
        while retry or not exhausted:
            pool, starts = self._pool(self.max_workers)
            pending: dict = {}
            started: dict[int, str] = {}  # worker os pid -> the item it reported starting last
            broken = False
            try:
                while pending or retry or not exhausted:
                    while len(pending) < window and (retry or not exhausted):
                        if retry:
                            pid, job = retry.popleft()
                        else:
                            try:
                                pid, job = next(job_iter)
                            except StopIteration:
                                exhausted = True
                                break
                        try:
                            pending[pool.submit(_tracked_call, fn, pid, job)] = (pid, job)
                        except BrokenProcessPool:  # it broke since the last wait: this one never ran
                            retry.appendleft((pid, job))
                            broken = True
                            break
                    if not pending:
                        break
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    _drain(starts, started)
                    for future in done:
                        if isinstance(future.exception(), BrokenProcessPool):
                            broken = True
                            continue
                        yield _outcome(future, pending.pop(future)[0])
                    if broken:
                        break
                workers = dict(getattr(pool, "_processes", None) or {}) if broken else {}  # os pid -> Process
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            _drain(starts, started)
            starts.close()
            if not broken:
                return
            in_flight = []
            for future, (pid, job) in pending.items():  # all done now: broken, or finished just before
                if future.cancelled() or isinstance(future.exception(), BrokenProcessPool):
                    in_flight.append((pid, job))
                else:
                    yield _outcome(future, pid)
            culprits, suspects, innocent = _sort_broken(in_flight, started, workers)
            fruitless_breaks = 0 if started else fruitless_breaks + 1
            if fruitless_breaks >= 3:
                raise RuntimeError(
                    f"the process pool broke {fruitless_breaks} times before any worker started an "
                    f"item: its workers cannot start (check that the pipeline's modules import in a "
                    f"fresh process), or set the dataset's 'executor:' to serial"
                )
            logger.warning(
                "a worker of the process pool died: %d item(s) recorded as failed, %d retried alone, "
                "%d resubmitted to a new pool", len(culprits), len(suspects), len(innocent))
            for pid, reason in culprits:
                yield pid, f"{reason} while computing this item", None
            for pid, job in suspects:
                yield self._alone(fn, pid, job)
            retry.extendleft(reversed(innocent))

    def _alone(self, fn: Callable, pid: str, job: Any) -> JobResult:
        """Compute one item alone in a fresh one-worker pool: a second death is its own."""
        pool, starts = self._pool(1)
        try:
            future = pool.submit(_tracked_call, fn, pid, job)
            workers = None
            try:
                return future.result()
            except BrokenProcessPool:
                workers = dict(getattr(pool, "_processes", None) or {})
            except Exception as exc:  # noqa: BLE001
                return pid, f"{type(exc).__name__}: {exc}", None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            starts.close()
        codes = [p.exitcode for p in workers.values()]
        reason = death_reason(codes[0] if len(codes) == 1 else None)
        return pid, f"{reason} while computing this item (also when retried alone)", None


def _drain(starts, started: dict[int, str]) -> None:
    """Read the workers' "starting item X" reports (read often: a full pipe would block them)."""
    while not starts.empty():
        worker, pid = starts.get()
        started[worker] = pid


def _outcome(future, pid: str) -> JobResult:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. a job or a result that does not pickle
        return pid, f"{type(exc).__name__}: {exc}", None


def _sort_broken(broken: list[tuple[str, Any]], started: dict[int, str], workers: dict):
    """Split the items of a broken pool into (culprits with the reason, suspects to retry alone,
    innocents to resubmit). See :class:`ProcessExecutor`."""
    running = {pid: worker for worker, pid in started.items()}  # item -> worker running it last
    terminated = -signal.SIGTERM  # what the broken pool sends to the workers it shuts down
    candidates = [(pid, job) for pid, job in broken if pid in running]
    innocent = [(pid, job) for pid, job in broken if pid not in running]  # never started
    deaths = {}
    for pid, _ in candidates:
        process = workers.get(running[pid])
        deaths[pid] = process.exitcode if process is not None else None
    own = {pid for pid, code in deaths.items() if code is not None and code != terminated}
    if not own:  # no worker we can blame: every item that was running gets one more try, alone
        return [], candidates, innocent
    culprits = [(pid, death_reason(deaths[pid])) for pid, _ in candidates if pid in own]
    innocent += [(pid, job) for pid, job in candidates if pid not in own]
    return culprits, [], innocent


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
