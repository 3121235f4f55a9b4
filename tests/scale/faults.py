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

from sdg_factory.datasets import _fs, image as image_module, npy, partitions

# every module that writes through atomic_write_bytes (each imported it by name)
_WRITERS = (partitions, image_module, npy)
from sdg_factory.seeding import item_rng


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
