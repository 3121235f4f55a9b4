"""``RegisteredEditsDataset``: restyled ROIs aligned with their crops, and each one's record.

Saves :class:`~sdg_factory.imaging.registration.RegisteredEdit` values (lazily computed on the
executor's workers, so registration runs in the pool tasks). Per partition ``<MAT>/<cell>/<NNNN>``
the folder holds ``<MAT>/<cell>/<NNNN>.png``, the aligned edit (what loads, as ImageDataset
would). Each task's registration record comes back with its result and is kept in the item's
entry of the folder's manifest (``"record"``; a rejected edit's in its ``failed`` entry): no
file per record, nothing read back. An edit that was rejected (or whose registration failed)
writes no image and fails its partition with the reason, so the folder never holds an image
off its ``cad_mask``. Read the records with a
:class:`~sdg_factory.datasets.RegistrationRecordsDataset` on the same path. (Folders written
before records moved into the manifest keep theirs in ``.registration/<MAT>/<cell>/<NNNN>.json``
until the item is recomputed; those are read too.)

``edits`` names the folder of the edits themselves (an
:class:`~sdg_factory.datasets.EditedCropsDataset`, saved after this one): a task whose value
holds an :class:`~sdg_factory.datasets.edited_crops.EditSlot` reads its edit back from there
when that folder already holds it with the same fingerprint, and otherwise makes it and writes
it there before registering it, so each edit is encoded once and never decoded again::

    augmented_crops:
      type: sdg_factory.datasets.RegisteredEditsDataset
      path: ${globals:dig_url_root}/runs/demo/augment/crop
      edits: ${globals:dig_url_root}/runs/demo/augment/edited
      executor: {type: processes, max_workers: 2}
    restyle_registration_items:
      type: sdg_factory.datasets.RegistrationRecordsDataset
      path: ${globals:dig_url_root}/runs/demo/augment/crop   # augmented_crops' path
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sdg_factory.datasets._fs import refresh
from sdg_factory.datasets.edited_crops import EditSlot
from sdg_factory.datasets.image import ImageDataset
from sdg_factory.datasets.partitioned import PartitionedDataset
from sdg_factory.datasets.partitions import ItemLoader, Written
from sdg_factory.fingerprints.manifest import intact, read_manifest
from sdg_factory.imaging.registration import RegisteredEdit, RegistrationError

RECORDS_DIR = ".registration"  # records of folders written before they moved into the manifest


class RegisteredEditsDataset(PartitionedDataset):
    """See the module docstring."""

    def __init__(self, *, path: str, edits: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dataset", ImageDataset)
        kwargs.setdefault("filename_suffix", ".png")
        super().__init__(path=path, **kwargs)
        self._edits = None if edits is None else PartitionedDataset(
            path=edits, dataset=ImageDataset, filename_suffix=".png", progress=False,
            credentials=kwargs.get("credentials"), fs_args=kwargs.get("fs_args"))

    def _write_partition(self, pid: str, value: Any) -> Written:
        if not isinstance(value, RegisteredEdit):
            raise TypeError(
                f"RegisteredEditsDataset at '{self._path}' saves RegisteredEdit values (an aligned "
                f"edit and its record); partition {pid!r} got {type(value).__name__}"
            )
        record = json.loads(json.dumps(value.record))  # as the manifest holds it (JSON values)
        if value.rejected is not None:
            error = RegistrationError(
                f"{value.rejected}: the edit does not match the crop's geometry. Delete its file under "
                "augment/edited/ to have it edited again on the next run."
            )
            error.item_record = record  # kept with the failure (see Written)
            raise error
        if value.encoded is not None and self._plain_png:  # the bytes this folder would encode
            self._write_bytes(pid + self._suffix, value.encoded)
            return Written(self._files_of(pid), record)
        files = super()._write_partition(pid, value.image)
        return Written(list(files) if isinstance(files, (list, tuple)) else self._files_of(pid), record)

    def records(self) -> dict[str, dict]:
        """Every item's registration record, rejected edits' included (see the module docstring)."""
        refresh(self._fs)  # written by the pool's workers
        path = self._manifest_path()
        manifest = read_manifest(self._fs, path, self._url(path))  # the records only: no listing
        if not manifest.trusted:
            return {}
        out = {}
        for pid, item in manifest.items.items():
            if "record" in item:
                out[pid] = item["record"]
            elif f"{RECORDS_DIR}/{pid}.json" in item.get("files", {}):  # written before records moved
                with self._fs.open(self._join(RECORDS_DIR, pid + ".json"), "rb") as handle:
                    out[pid] = json.loads(handle.read().decode())
        for failure in manifest.failed:
            if isinstance(failure.get("record"), dict):
                out[failure["partition"]] = failure["record"]
        return dict(sorted(out.items()))

    @property
    def _plain_png(self) -> bool:
        kind = self._dataset_config["type"]
        names = ("sdg_factory.datasets.ImageDataset", "sdg_factory.datasets.image.ImageDataset")
        return (self._suffix == ".png" and not self._dataset_config.get("save_args")
                and (kind is ImageDataset or kind in names))

    def save(self, data: dict[str, Any]) -> None:
        slots = self._plan_edits(data) if isinstance(data, dict) and self._edits is not None else {}
        super().save(data)
        if slots:  # what the edits folder (saved next) needs to know of the tasks that failed
            self._manifest_cache = None
            for failure in self._manifest_and_stats()[0].failed:
                if failure.get("partition") in slots:
                    slots[failure["partition"]].failed(failure.get("error") or "failed")

    def _plan_edits(self, data: dict[str, Any]) -> dict[str, EditSlot]:
        """Tell each task's edit whether ``edits`` already holds it (the same fingerprint, its
        file intact: read it back) or not (make it and write it there)."""
        binding, edits = self._binding, self._edits
        edits._manifest_cache = None  # noqa: SLF001 - the edits folder as it is now
        manifest, stats = edits._manifest_and_stats()  # noqa: SLF001
        self._manifest_cache = None
        own, own_stats = self._manifest_and_stats()
        slots = {}
        for pid, value in data.items():
            args = value.args if isinstance(value, partial) else ()
            slot = next((a for a in args if isinstance(a, EditSlot)), None)
            if slot is None:
                continue
            slots[pid] = slot
            previous = manifest.items.get(pid) if manifest.trusted else None
            rel = edits._files_of(pid)[0]  # noqa: SLF001
            if binding is None:  # outside a Kedro run: an edit that exists is kept
                current = rel in stats
            else:
                current = bool(not binding.forced and previous and intact(previous, stats)
                               and previous.get("fingerprint") == binding.item_fingerprint(pid, slot))
            if current:
                slot.read_from(ItemLoader(edits, pid))
            elif binding is not None and self._kept_after(pid, value, binding, own, own_stats, stats.get(rel)):
                slot.write_to(edits, pid, None)  # its task wrote it (a run stopped before the edits' manifest)
            else:
                slot.write_to(edits, pid, stats.get(rel))
        edits._manifest_cache = None  # noqa: SLF001 - not carried to every task
        self._manifest_cache = None
        return slots

    def _kept_after(self, pid: str, value: Any, binding: Any, own: Any, own_stats: dict, edit_stat: Any) -> bool:
        """True when this save keeps ``pid``'s aligned edit (same fingerprint, intact) and the edit
        on disk is not newer than it: the task that wrote the aligned edit wrote that edit first."""
        previous = own.items.get(pid) if own.trusted else None
        image = own_stats.get(pid + self._suffix)
        return bool(edit_stat is not None and image is not None and not binding.forced and previous
                    and intact(previous, own_stats) and edit_stat[1] <= image[1]
                    and previous.get("fingerprint") == binding.item_fingerprint(pid, value))

    def _owned_files(self, stats: dict) -> set[str]:
        # records written before they moved into the manifest are this dataset's too: removed
        # once their item is recomputed, fails or is no longer made
        return super()._owned_files(stats) | {rel for rel in stats if rel.startswith(RECORDS_DIR + "/")}
