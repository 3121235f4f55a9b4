"""The machinery every folder-of-items dataset shares.

Kedro's own ``PartitionedDataset`` saves partitions one at a time and aborts the whole save
on the first failing one. Here a save:

- computes and writes partitions through an executor chosen in the catalog
  (``serial``, ``processes``, ``dask``; more plug in through :func:`register_executor`);
- writes every file atomically (locally a hidden temporary, then rename; on an object store
  one PUT per object — see :mod:`sdg_factory.datasets._fs`);
- inside a Kedro run, fingerprints every item (:mod:`sdg_factory.fingerprints`): an item whose
  fingerprint and files match the manifest is skipped, a different one is recomputed, and files
  of items the node no longer makes are removed, so the folder holds exactly what the current
  configuration makes. Outside a run (a notebook, a test) ``skip_existing`` keeps complete items;
- records partitions that fail in ``.sdg_manifest.json`` beside them and in the run's
  failure registry instead of losing the rest of the run;
- shows a progress bar with counts and rate.

Two datasets may share a folder when their items differ by suffix (``masks/<id>.png`` and
``masks/<id>.npy``): each keeps its own manifest (``.sdg_manifest.png.json``,
``.sdg_manifest.npy.json``) and removes only its own files. Two outputs that would share one
manifest are refused before a run (:func:`check_one_manifest_each`).

Subclasses say how one partition is written (returning the files it wrote), which files an
item consists of, how to tell it is complete, and how to load it.
"""

from __future__ import annotations

import json
import logging
import posixpath
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from rich.markup import escape
from tqdm.auto import tqdm

from sdg_factory.datasets._fs import (
    TMP_MARK,
    atomic_write_bytes,
    filesystem,
    full_path,
    is_hidden,
    is_object_store,
    refresh,
    remove_temporaries,
    write_bytes_if_changed,
)
from sdg_factory.datasets.executors import describe_error, make_executor
from sdg_factory.datasets.failures import MANIFEST_NAME, RUN_FAILURES, PartitionFailure
from sdg_factory.datasets.item_parts import ItemParts, PartOf
from sdg_factory.fingerprints.context import UNCHANGED, NodeFingerprint
from sdg_factory.fingerprints.hashing import CONTENT_HASHES, digest, stat_key
from sdg_factory.fingerprints.manifest import Manifest, intact, read_manifest
from sdg_factory.listing import find
from sdg_factory.paths import check_relative
from sdg_factory.redaction import scrub

logger = logging.getLogger(__name__)

MANIFEST_FLUSH_S = 2.0  # how often a long save records what it has written so far (for resume)


@dataclass(frozen=True)
class Written:
    """What one partition's task reports back to the save: the files it wrote and, for a folder
    whose items carry a record (a registration's transform and score), that record, which the
    save keeps in the item's manifest entry (no file per record, nothing read back). ``error``:
    the item failed after making its record (the record is kept with the failure)."""

    files: list[str] = field(default_factory=list)
    record: dict | None = None
    error: str | None = None


def _write_job(dataset: BasePartitionsDataset, pid: str, value: Any) -> list[str] | Written:
    """Compute one partition (calling a lazy saver) and write it; runs on a worker.

    Returns the files (relative to the dataset's folder) that the partition consists of, or a
    :class:`Written` when the item has a record. An exception that carries ``item_record``
    fails the item with that record kept."""
    refresh(dataset._fs)  # a long-lived worker's listings may predate other workers' writes
    if isinstance(value, PartOf) and (files := value.taken(dataset, pid)) is not None:
        return files  # a part of an item that another output's task computed and wrote here
    copy = getattr(dataset, "_copy_item", None)  # an item of another folder of the same layout:
    if copy is not None and (copied := copy(pid, value)) is not None:  # its files, byte for byte
        return copied
    if callable(value):
        value = value()
    try:
        written = dataset._write_partition(pid, value)
    except Exception as exc:
        record = getattr(exc, "item_record", None)
        if record is None:
            raise
        return Written(record=record, error=describe_error(exc))
    if isinstance(written, Written):
        return written
    if isinstance(written, (list, tuple)):
        return [str(rel) for rel in written]
    return dataset._files_of(pid)


class ItemLoader:
    """The loader of one partition (``loader()`` reads it) that also knows the item's fingerprint.

    A lazy saver holding loaders lets a node declared :func:`~sdg_factory.fingerprints.per_item`
    fingerprint each output item by the input items it reads."""

    __slots__ = ("source", "pid", "_fingerprint")

    def __init__(self, source: BasePartitionsDataset, pid: str) -> None:
        self.source, self.pid, self._fingerprint = source, pid, None

    def __call__(self) -> Any:
        return self.source._load_partition(self.pid)

    @property
    def item_fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self.source._loaded_item_fingerprint(self.pid)
        return self._fingerprint

    def __getstate__(self) -> tuple:
        return self.source, self.pid, self._fingerprint

    def __setstate__(self, state: tuple) -> None:
        self.source, self.pid, self._fingerprint = state

    def __repr__(self) -> str:
        return f"ItemLoader({self.source._path!r}, {self.pid!r})"


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
        # whose leftover temporaries a save removes ("" = all below root)
        self._temporary_suffix: str | tuple[str, ...] = ""
        self._binding: NodeFingerprint | None = None
        self._manifest_cache: tuple[Any, Manifest, dict] | None = None
        self.metadata = metadata

    def __getstate__(self) -> dict:
        # the manifest cache (the folder's manifest and listing: O(items)) stays in this process. A
        # pool task pickles the datasets its job refers to (a lazy saver's ItemLoaders); carrying
        # every item's record to every task made each job ~90 KB for a 283-ROI crop folder
        state = dict(self.__dict__)
        state["_manifest_cache"] = None
        return state

    # --- what subclasses provide -------------------------------------------------------
    def _list_partitions(self) -> list[str]:
        raise NotImplementedError

    def _load_partition(self, pid: str) -> Any:
        raise NotImplementedError

    def _write_partition(self, pid: str, value: Any) -> Any:
        """Write one partition; return the list of files written (relative paths)."""
        raise NotImplementedError

    def _partition_complete(self, pid: str) -> bool:
        raise NotImplementedError

    def _files_of(self, pid: str) -> list[str]:
        """The files (relative paths) a loaded partition consists of; hashed when the folder has
        no manifest (a user's folder). Empty = unknown: such an input is always recomputed."""
        return []

    def _owned_files(self, stats: dict[str, tuple[int, float]]) -> set[str]:
        """Every file on disk that belongs to this dataset (what a save may remove when the
        current configuration no longer makes it). Default: the files of the listed partitions."""
        return {rel for pid in self._list_partitions() for rel in self._files_of(pid) if rel in stats}

    # --- paths ---------------------------------------------------------------------------
    def _ids_by_suffix(self, suffix: str, skip_folder: str | None = None) -> list[str]:
        """Ids of the visible files below the folder that end in ``suffix`` (which is cut off),
        leaving out the sub-folder ``skip_folder`` (e.g. the masks stored beside the images)."""
        if not self._fs.exists(self._root):
            return []
        ids = []
        for path in find(self._fs, self._root):
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

    def _write_bytes_if_changed(self, relative: str, data: bytes) -> str:
        """Write a folder-level file (a class list, a dataset YAML) only when its bytes change,
        so an unchanged re-run leaves it (and its mtime) alone."""
        write_bytes_if_changed(self._fs, self._join(relative), data)
        return relative

    # --- fingerprints --------------------------------------------------------------------
    def bind_fingerprint(self, fingerprint: NodeFingerprint | None) -> None:
        """Called by the hooks before the node that writes this dataset runs."""
        self._binding = fingerprint

    def _manifest_path(self) -> str:
        return posixpath.join(self._root, self._manifest_name)

    def _stat_files(self) -> dict[str, tuple[int, float]]:
        """``{relative path: (size, mtime)}`` of every data file below the folder (one listing)."""
        if not self._fs.exists(self._root):
            return {}
        listing = find(self._fs, self._root, detail=True)
        out = {}
        for path, info in listing.items():
            rel = posixpath.relpath(path, self._root)
            name = posixpath.basename(rel)
            if info.get("type", "file") == "directory" or name.startswith((TMP_MARK, ".sdg_manifest")) \
                    or name.endswith(".sdg.json"):
                continue  # temporaries and fingerprint manifests are not data
            out[rel] = stat_key(info)
        return out

    def _stat_some(self, files: list[str]) -> dict[str, tuple[int, float]]:
        """``{relative path: (size, mtime)}`` of some files: a stat each on a local disk, one
        listing of the folder on an object store (where a stat is a request)."""
        if is_object_store(self._fs):
            return self._stat_files()
        out = {}
        for rel in files:
            try:
                out[rel] = stat_key(self._fs.info(self._join(rel)))
            except FileNotFoundError:
                continue  # reported missing by the final listing
        return out

    def _manifest_and_stats(self) -> tuple[Manifest, dict]:
        """The manifest and a listing of the folder, read once per load (inputs) or save."""
        if self._manifest_cache is None:
            refresh(self._fs)
            manifest = read_manifest(self._fs, self._manifest_path(), self._url(self._manifest_path()))
            self._manifest_cache = (None, manifest, self._stat_files())
        _, manifest, stats = self._manifest_cache
        return manifest, stats

    def _loaded_item_fingerprint(self, pid: str) -> str:
        """The fingerprint of an input item: what the manifest says made it, when its files are
        intact; otherwise a digest of its files' contents (a user's folder, a hand-edited file)."""
        manifest, stats = self._manifest_and_stats()
        files = self._files_of(pid)
        if manifest.trusted and manifest.items:
            owners = {manifest.owner_of().get(rel) for rel in files} if files else {pid}
            owners.discard(None)
            if len(owners) == 1:
                owner = owners.pop()
                item = manifest.items.get(owner)
                if item and intact(item, stats):
                    # what made it, not when: an item rewritten with the same fingerprint (a
                    # resumed or repaired one) does not make the nodes that read it redo their work
                    return digest(item["fingerprint"], pid)
        present = [rel for rel in files if rel in stats]
        if not present:
            return digest("unknown", pid, uuid.uuid4().hex)  # cannot tell: always stale
        hashes = [(rel, CONTENT_HASHES.file_digest(self._fs, self._join(rel), self._url(self._join(rel))))
                  for rel in present]
        return digest("content", pid, hashes)

    def is_fresh(self, fingerprint: NodeFingerprint) -> bool:
        """True when the folder already holds exactly what the node would write: the manifest is
        trusted, was made with this fingerprint, recorded no failure and every item is intact."""
        if not self._skip_existing:
            return False
        self._manifest_cache = None
        manifest, stats = self._manifest_and_stats()
        return (manifest.trusted and manifest.made_by.get("fingerprint") == fingerprint.whole
                and not manifest.failed and len(manifest.items) == manifest.partitions
                and all(intact(item, stats) for item in manifest.items.values()))

    def content_fingerprint(self) -> str:
        """The fingerprint of the whole dataset as an input: its items' fingerprints."""
        self._manifest_cache = None
        fps = [(pid, self._loaded_item_fingerprint(pid)) for pid in sorted(self._list_partitions())]
        CONTENT_HASHES.flush()
        return digest(fps)

    def made_by(self) -> dict:
        """The provenance record of what wrote the folder's items (read from the manifest)."""
        self._manifest_cache = None
        manifest, _ = self._manifest_and_stats()
        return {**manifest.made_by, "items": len(manifest.items), "trusted": manifest.trusted}

    # --- Kedro API -----------------------------------------------------------------------
    def load(self) -> dict[str, Callable[[], Any]]:
        refresh(self._fs)  # partitions were written by other processes (pool or Dask workers)
        self._manifest_cache = None
        pids = self._list_partitions()
        return {pid: ItemLoader(self, pid) for pid in sorted(pids)}

    def save(self, data: dict[str, Any]) -> None:
        if isinstance(data, ItemParts):  # one output of several that share items: computed once
            data.group.save(self, data, self._save_items)
            return
        self._save_items(data)

    def _save_items(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) and data is not UNCHANGED:
            raise DatasetError(
                f"{type(self).__name__} at '{self._path}' saves a dict of partition id -> value "
                f"(or -> callable returning the value); the node returned {type(data).__name__}"
            )
        binding, self._binding = self._binding, None
        if data is UNCHANGED:  # the node was skipped: the folder is already what it would write
            return
        refresh(self._fs)
        removed = remove_temporaries(self._fs, self._root, self._temporary_suffix)
        if removed:
            logger.info("removed %d temporary file(s) left by an interrupted run in %s", removed, self._path)
        self._manifest_cache = None
        old, stats = self._manifest_and_stats()
        jobs, fingerprints, kept, failures = self._plan(data, binding, old, stats)
        job_done = getattr(data, "job_done", None)  # data that wants to know how each job ended

        executor = make_executor(self._executor_spec)
        results: dict[str, list[str]] = {}
        records: dict[str, dict] = {}  # what the items' tasks said of them (Written.record)
        bar = tqdm(
            total=len(jobs),
            desc=f"{posixpath.basename(self._root) or self._root} ({executor.name})",
            unit="item",
            disable=not self._progress or not jobs,
            mininterval=0.5,
            leave=False,
        )
        last_flush, flush_every = time.monotonic(), MANIFEST_FLUSH_S
        recorded: set[str] = set()  # items whose files' stats the interim manifests already hold
        written_stats: dict[str, tuple[int, float]] = {}
        with bar:
            for pid, error, files in executor.run(partial(_write_job, self), jobs):
                if isinstance(files, Written):
                    if files.record is not None:
                        records[pid] = files.record
                    error, files = error or files.error, files.files
                if error is None:
                    results[pid] = list(files or [])
                else:
                    error = scrub(error)  # an echoed credential never reaches the manifest or the log
                    failures.append(PartitionFailure(self._path, pid, error))
                    logger.error("partition %s of %s failed: %s", pid, self._path, escape(error))
                if job_done is not None:
                    job_done(pid, error)
                bar.update(1)
                bar.set_postfix(failed=len(failures), refresh=False)
                if binding is not None and time.monotonic() - last_flush > flush_every:
                    # a run killed now resumes from here: what is already written is recorded
                    started = time.monotonic()
                    interim = {**(old.items if old.trusted else {}), **kept}
                    fresh = [rel for pid in results.keys() - recorded for rel in results[pid]]
                    recorded.update(results)
                    written_stats.update(self._stat_some(fresh))
                    interim.update(self._written_items(results, fingerprints, written_stats, records))
                    self._write_manifest(Manifest(items=dict(sorted(interim.items())), made_by=binding.made_by,
                                                  partitions=len(data)))
                    last_flush = time.monotonic()
                    # a big folder's listing and manifest cost more: record at most ~5 % of the time
                    flush_every = max(MANIFEST_FLUSH_S, 20 * (last_flush - started))

        refresh(self._fs)
        if jobs:  # a worker that died mid-write (and was retried elsewhere) left its temporary
            remove_temporaries(self._fs, self._root, self._temporary_suffix)
        after = self._stat_files()
        items = dict(kept)
        items.update(self._written_items(results, fingerprints, after, records))
        stale = 0
        if binding is not None:
            stale = self._remove_stale(old, after, items)
        manifest = Manifest(items={pid: items[pid] for pid in sorted(items)},
                            made_by=binding.made_by if binding is not None else {},
                            partitions=len(data),
                            failed=[{"partition": f.partition, "error": f.error,
                                     **({"record": records[f.partition]} if f.partition in records else {})}
                                    for f in failures])
        self._write_manifest(manifest)
        self._manifest_cache = None
        logger.info(
            "%s: %d written, %d unchanged, %d removed, %d failed",
            self._path, len(results), len(kept), stale, len(failures),
        )
        if failures:
            RUN_FAILURES.record(failures)

    def _plan(self, data: dict[str, Any], binding: NodeFingerprint | None, old: Manifest,
              stats: dict) -> tuple[list[tuple[str, Any]], dict[str, str | None], dict[str, dict],
                                    list[PartitionFailure]]:
        """Which items of ``data`` a save writes (``jobs``) and which it keeps as they are, with
        each item's fingerprint and the ids it refuses (``old``, ``stats``: the folder now)."""
        jobs: list[tuple[str, Any]] = []
        fingerprints: dict[str, str | None] = {}
        kept: dict[str, dict] = {}
        failures: list[PartitionFailure] = []
        for pid in sorted(data):
            try:
                check_relative(pid)
            except ValueError as exc:
                failures.append(PartitionFailure(self._path, pid, str(exc)))
                continue
            previous = old.items.get(pid) if old.trusted else None
            if binding is not None:
                fingerprint = fingerprints[pid] = binding.item_fingerprint(pid, data[pid])
                if (self._skip_existing and not binding.forced and previous
                        and previous.get("fingerprint") == fingerprint
                        and intact(previous, stats)):
                    kept[pid] = previous
                    continue
            elif self._skip_existing and self._partition_complete(pid):  # outside a Kedro run
                kept[pid] = previous or {"fingerprint": None, "files": {}}
                continue
            jobs.append((pid, data[pid]))
        CONTENT_HASHES.flush()
        return jobs, fingerprints, kept, failures

    def _planned_ids(self, data: dict[str, Any]) -> set[str]:
        """The ids of ``data`` that saving it now would write (with the fingerprint bound to this
        dataset): what another output's tasks write here when they compute those items anyway
        (:mod:`sdg_factory.datasets.item_parts`)."""
        self._manifest_cache = None
        old, stats = self._manifest_and_stats()
        try:
            return {pid for pid, _ in self._plan(data, self._binding, old, stats)[0]}
        finally:
            self._manifest_cache = None

    @staticmethod
    def _written_items(results: dict[str, list[str]], fingerprints: dict[str, str | None],
                       stats: dict[str, tuple[int, float]], records: dict[str, dict] | None = None
                       ) -> dict[str, dict]:
        records = records or {}
        return {pid: {"fingerprint": fingerprints.get(pid),
                      "files": {rel: list(stats[rel]) for rel in sorted(set(files)) if rel in stats},
                      **({"record": records[pid]} if pid in records else {})}
                for pid, files in results.items()}

    def _remove_stale(self, old: Manifest, stats: dict, items: dict[str, dict]) -> int:
        """Delete the files this dataset owns that no current item consists of: items the node no
        longer makes, files a recomputed item no longer has, leftovers of an untrusted manifest."""
        keep = {rel for item in items.values() for rel in item.get("files", {})}
        owned = (old.files() | self._owned_files(stats)) & set(stats)
        stale = sorted(owned - keep)
        for rel in stale:
            self._fs.rm(self._join(rel))
        if stale:
            logger.info("%s: removed %d file(s) that the current configuration no longer makes",
                        self._path, len(stale))
        return len(stale)

    def _write_manifest(self, manifest: Manifest) -> None:
        # a node that ran and kept every item records the manifest it read: not rewritten
        write_bytes_if_changed(self._fs, self._manifest_path(), manifest.encode())

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
        path = self._manifest_path()
        if not self._fs.exists(path):
            return []
        with self._fs.open(path, "rb") as handle:
            return [f["partition"] for f in json.load(handle)["failed"]]


def check_one_manifest_each(datasets: dict[str, Any]) -> None:
    """Refuse two folder datasets (``{catalog name: dataset}``, the outputs of a run) that keep
    one manifest: the same folder and the same ``filename_suffix``. Each save would overwrite the
    other's manifest and remove the other's items as no longer made."""
    seen: dict[str, str] = {}
    for name in sorted(datasets):
        dataset = datasets[name]
        if not isinstance(dataset, BasePartitionsDataset):
            continue
        manifest = dataset._url(dataset._manifest_path())
        if manifest in seen:
            raise DatasetError(
                f"catalog entries '{seen[manifest]}' and '{name}' write the same folder with the same "
                f"filename_suffix, so they would share one fingerprint manifest ({manifest}) and delete each "
                "other's items; give one of them its own path, or a different filename_suffix")
        seen[manifest] = name
