"""Faults injected into Dask workers: a worker process that dies (SIGKILL) in the middle of
writing a partition — once, or every time it is given a certain partition.

These run inside the worker processes, so they live in an importable module (workers import
``tests.scale.faults`` when they unpickle them)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from sdg_factory.datasets import _fs, npy, partitions, single_file
from sdg_factory.datasets import image as image_module
from sdg_factory.seeding import item_rng

# every module that writes through atomic_write_bytes (each imported it by name)
_WRITERS = (partitions, image_module, npy, single_file)


def claim(marker: str | Path) -> bool:
    """True for exactly one caller across processes: the one that creates ``marker``."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def image(seed: int, pid: str, size: int = 32) -> np.ndarray:
    return item_rng(seed, pid).integers(0, 255, (size, size, 3), dtype=np.uint8)


def image_or_die_once(seed: int, pid: str, marker: str) -> np.ndarray:
    """A lazy saver whose first run (across the cluster) kills its worker mid-task."""
    value = image(seed, pid)
    if claim(marker):
        die()
    return value


def always_die(pid: str) -> np.ndarray:
    """A lazy saver that kills every worker that runs it."""
    die()
    raise AssertionError("unreachable")


class DieMidWrite(WorkerPlugin):
    """Worker plugin: the first time any worker writes its ``after``-th file of a partition set,
    it writes half of the bytes to the hidden temporary and is SIGKILLed — a worker lost in the
    middle of a multi-file partition, mid-file. One death per ``marker`` across the cluster."""

    name = "sdg-die-mid-write"

    def __init__(self, marker: str, after: int = 2) -> None:
        self.marker, self.after = str(marker), after

    def setup(self, worker=None) -> None:
        self.original = _fs.atomic_write_bytes
        writes = {"n": 0}

        def write(fs, path, data):
            writes["n"] += 1
            if writes["n"] > self.after and claim(self.marker):
                with fs.open(_fs.temp_sibling(path), "wb") as handle:
                    handle.write(bytes(data)[: len(data) // 2])
                Path(self.marker).write_text(path)
                die()
            return self.original(fs, path, data)

        for module in _WRITERS:
            module.atomic_write_bytes = write

    def teardown(self, worker=None) -> None:
        for module in _WRITERS:
            module.atomic_write_bytes = self.original


# --- faults injected into a `kedro run` subprocess (a project copy's settings add these hooks) ---

KILL_ITEM_ENV = "SDG_TEST_KILL_ITEM"  # the item whose pool worker is SIGKILLed while computing it
PAUSE_ENV = "SDG_TEST_PAUSE_UNTIL"    # a file: the run holds before its first node until it exists
HANG_ITEM_ENV = "SDG_TEST_HANG_ITEM"  # "<item>:<folder>": that item's worker writes its pid there, then hangs

SETTINGS_PATCH = '''

# test-only faults (tests/scale/faults.py), added to a copy of the project by the tests
import os as _os
if any(_os.environ.get(_v) for _v in ("SDG_TEST_KILL_ITEM", "SDG_TEST_PAUSE_UNTIL", "SDG_TEST_HANG_ITEM")):
    from tests.scale.faults import FaultHooks as _FaultHooks
    HOOKS = (*HOOKS, _FaultHooks())
'''


def kill_on_item(item: str, fn, pid: str, job):
    """An executor job that SIGKILLs its own worker when it is given ``item``."""
    if pid == item:
        die()
    return fn(pid, job)


def hang_on_item(item: str, folder: str, fn, pid: str, job):
    """An executor job that, given ``item``, records its worker's pid in ``folder`` and hangs
    (only the death of the run can end it)."""
    if pid == item:
        import time

        Path(folder, str(os.getpid())).write_text(pid)
        time.sleep(300)
    return fn(pid, job)


class FaultHooks:
    """Kedro hooks for a run in a subprocess: kill the worker of one item (``SDG_TEST_KILL_ITEM``)
    and/or hold the run, lock taken, until a file exists (``SDG_TEST_PAUSE_UNTIL``)."""

    from kedro.framework.hooks import hook_impl as _hook_impl

    @_hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog) -> None:
        import functools

        from sdg_factory.datasets.executors import ProcessExecutor

        original = ProcessExecutor.run
        wrap = None
        if os.environ.get(KILL_ITEM_ENV):
            wrap = functools.partial(functools.partial, kill_on_item, os.environ[KILL_ITEM_ENV])
        elif os.environ.get(HANG_ITEM_ENV):
            item, folder = os.environ[HANG_ITEM_ENV].split(":", 1)
            wrap = functools.partial(functools.partial, hang_on_item, item, folder)
        if wrap is not None:
            ProcessExecutor.run = lambda executor, fn, jobs: original(executor, wrap(fn), jobs)

    @_hook_impl
    def before_node_run(self, node) -> None:
        import time

        pause = os.environ.pop(PAUSE_ENV, None)  # once, before the first node
        if pause:
            Path(pause + ".waiting").touch()
            deadline = time.monotonic() + 120
            while not Path(pause).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
