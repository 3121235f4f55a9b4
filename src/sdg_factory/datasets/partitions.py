"""The machinery every folder-of-items dataset shares.

Kedro's own ``PartitionedDataset`` saves partitions one at a time and aborts the whole save
on the first failing one. Here a save:

- computes and writes partitions through an executor chosen in the catalog
  (``serial``, ``processes``, ``dask``; more plug in through :func:`register_executor`);
- writes every file atomically (locally a hidden temporary, then rename; on an object store
  one PUT per object — see :mod:`sdg_factory.datasets._fs`);
- with ``skip_existing`` (the default) leaves partitions that are already complete alone,
  so re-running the same ``run_name`` only finishes what is missing;
- records partitions that fail in ``.sdg_manifest.json`` beside them and in the run's
  failure registry instead of losing the rest of the run;
- shows a progress bar with counts and rate.

Subclasses say how one partition is written, how to tell it is complete, and how to load it.
"""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Callable
from functools import partial
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from rich.markup import escape
from tqdm.auto import tqdm

from sdg_factory.datasets._fs import (
    atomic_write_bytes,
    filesystem,
    full_path,
    is_hidden,
    refresh,
    remove_temporaries,
)
from sdg_factory.datasets.executors import make_executor
from sdg_factory.datasets.failures import MANIFEST_NAME, RUN_FAILURES, PartitionFailure
from sdg_factory.paths import check_relative

logger = logging.getLogger(__name__)


def _write_job(dataset: BasePartitionsDataset, pid: str, value: Any) -> Any:
    """Compute one partition (calling a lazy saver) and write it; runs on a worker."""
    refresh(dataset._fs)  # a long-lived worker's listings may predate other workers' writes
    if callable(value):
        value = value()
    return dataset._write_partition(pid, value)


class BasePartitionsDataset(AbstractDataset):
    """A folder of partitions saved through an executor. See the module docstring."""

    def __init__(
        self,
        *,
        path: str,
        executor: str | dict | None = "serial",
        skip_existing: bool = True,
        progress: bool = True,
        credentials: dict | None = None,
        fs_args: dict | None = None,
        metadata: dict | None = None,
    ) -> None:
        self._fs, self._protocol, self._root = filesystem(path, credentials, fs_args)
        self._path = str(path)
        self._executor_spec = executor
        self._skip_existing = bool(skip_existing)
        self._progress = progress
        self._manifest_name = MANIFEST_NAME
        self._temporary_suffix: str | tuple[str, ...] = ""  # whose leftover temporaries a save removes ("" = all below root)
        self.metadata = metadata

    # --- what subclasses provide -------------------------------------------------------
    def _list_partitions(self) -> list[str]:
        raise NotImplementedError

    def _load_partition(self, pid: str) -> Any:
        raise NotImplementedError

    def _write_partition(self, pid: str, value: Any) -> Any:
        raise NotImplementedError

    def _partition_complete(self, pid: str) -> bool:
        raise NotImplementedError

    # --- paths ---------------------------------------------------------------------------
    def _ids_by_suffix(self, suffix: str, skip_folder: str | None = None) -> list[str]:
        """Ids of the visible files below the folder that end in ``suffix`` (which is cut off),
        leaving out the sub-folder ``skip_folder`` (e.g. the masks stored beside the images)."""
        if not self._fs.exists(self._root):
            return []
        ids = []
        for path in self._fs.find(self._root):
            rel = posixpath.relpath(path, self._root)
            if is_hidden(rel) or not rel.endswith(suffix) or (skip_folder and rel.startswith(skip_folder + "/")):
                continue
            ids.append(rel[: len(rel) - len(suffix)] if suffix else rel)
        return ids

    def _join(self, *parts: str) -> str:
        rel = check_relative("/".join(parts))
        return posixpath.join(self._root, rel)

    def _url(self, path: str) -> str:
        return full_path(self._protocol, path)

    def _write_bytes(self, relative: str, data: bytes) -> str:
        path = self._join(relative)
        atomic_write_bytes(self._fs, path, data)
        return relative

    # --- Kedro API -----------------------------------------------------------------------
    def load(self) -> dict[str, Callable[[], Any]]:
        refresh(self._fs)  # partitions were written by other processes (pool or Dask workers)
        pids = self._list_partitions()
        return {pid: partial(self._load_partition, pid) for pid in sorted(pids)}

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DatasetError(
                f"{type(self).__name__} at '{self._path}' saves a dict of partition id -> value "
                f"(or -> callable returning the value); the node returned {type(data).__name__}"
            )
        refresh(self._fs)
        removed = remove_temporaries(self._fs, self._root, self._temporary_suffix)
        if removed:
            logger.info("removed %d temporary file(s) left by an interrupted run in %s", removed, self._path)

        jobs: list[tuple[str, Any]] = []
        skipped = 0
        failures: list[PartitionFailure] = []
        for pid in sorted(data):
            try:
                check_relative(pid)
            except ValueError as exc:
                failures.append(PartitionFailure(self._path, pid, str(exc)))
                continue
            if self._skip_existing and self._partition_complete(pid):
                skipped += 1
                continue
            jobs.append((pid, data[pid]))

        executor = make_executor(self._executor_spec)
        written = 0
        bar = tqdm(
            total=len(jobs),
            desc=f"{posixpath.basename(self._root) or self._root} ({executor.name})",
            unit="item",
            disable=not self._progress or not jobs,
            mininterval=0.5,
            leave=False,
        )
        with bar:
            for pid, error, _ in executor.run(partial(_write_job, self), jobs):
                if error is None:
                    written += 1
                else:
                    failures.append(PartitionFailure(self._path, pid, error))
                    logger.error("partition %s of %s failed: %s", pid, self._path, escape(error))
                bar.update(1)
                bar.set_postfix(failed=len(failures), refresh=False)

        refresh(self._fs)
        if jobs:  # a worker that died mid-write (and was retried elsewhere) left its temporary
            remove_temporaries(self._fs, self._root, self._temporary_suffix)
        self._write_manifest(len(data), failures)
        logger.info(
            "%s: %d written, %d already complete, %d failed",
            self._path, written, skipped, len(failures),
        )
        if failures:
            RUN_FAILURES.record(failures)

    def _write_manifest(self, total: int, failures: list[PartitionFailure]) -> None:
        manifest = {
            "partitions": total,
            "failed": [{"partition": f.partition, "error": f.error} for f in failures],
        }
        body = json.dumps(manifest, indent=2, sort_keys=True).encode()
        atomic_write_bytes(self._fs, posixpath.join(self._root, self._manifest_name), body)

    def _exists(self) -> bool:
        refresh(self._fs)
        return self._fs.exists(self._root) and bool(self._list_partitions())

    def _describe(self) -> dict[str, Any]:
        return {
            "path": self._path,
            "executor": self._executor_spec,
            "skip_existing": self._skip_existing,
        }

    def failed_partitions(self) -> list[str]:
        """Partitions the last save recorded as failed (read from the manifest)."""
        path = posixpath.join(self._root, self._manifest_name)
        if not self._fs.exists(path):
            return []
        with self._fs.open(path, "rb") as handle:
            return [f["partition"] for f in json.load(handle)["failed"]]
