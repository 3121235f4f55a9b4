"""``RegisteredEditsDataset``: restyled ROIs aligned with their crops, and each one's record.

Saves :class:`~sdg_factory.imaging.registration.RegisteredEdit` values (lazily computed on the
executor's workers, so registration runs in the pool tasks). Per partition ``<MAT>/<cell>/<NNNN>``::

    <MAT>/<cell>/<NNNN>.png               the aligned edit (what loads, as ImageDataset would)
    .registration/<MAT>/<cell>/<NNNN>.json   its registration record, written first

An edit that was rejected (or whose registration failed) writes only its record, then fails its
partition with the reason, so the folder never holds an image off its ``cad_mask``. Read the
records with a :class:`PartitionedDataset` of JSON files at ``<path>/.registration``.

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
      type: sdg_factory.datasets.PartitionedDataset
      path: ${globals:dig_url_root}/runs/demo/augment/crop/.registration
      dataset: sdg_factory.datasets.JSONDataset
      filename_suffix: .json
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from sdg_factory.datasets.edited_crops import EditSlot
from sdg_factory.datasets.image import ImageDataset
from sdg_factory.datasets.partitioned import PartitionedDataset
from sdg_factory.datasets.partitions import ItemLoader
from sdg_factory.fingerprints.manifest import intact
from sdg_factory.imaging.registration import RegisteredEdit, RegistrationError

RECORDS_DIR = ".registration"


class RegisteredEditsDataset(PartitionedDataset):
    """See the module docstring."""

    def __init__(self, *, path: str, edits: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("dataset", ImageDataset)
        kwargs.setdefault("filename_suffix", ".png")
        super().__init__(path=path, **kwargs)
        self._saving: set[str] = set()
        self._edits = None if edits is None else PartitionedDataset(
            path=edits, dataset=ImageDataset, filename_suffix=".png", progress=False,
            credentials=kwargs.get("credentials"), fs_args=kwargs.get("fs_args"))

    def _record_file(self, pid: str) -> str:
        return f"{RECORDS_DIR}/{pid}.json"

    def _files_of(self, pid: str) -> list[str]:
        return [*super()._files_of(pid), self._record_file(pid)]

    def _write_partition(self, pid: str, value: Any) -> list[str]:
        if not isinstance(value, RegisteredEdit):
            raise TypeError(
                f"RegisteredEditsDataset at '{self._path}' saves RegisteredEdit values (an aligned "
                f"edit and its record); partition {pid!r} got {type(value).__name__}"
            )
        record = json.dumps(value.record, sort_keys=False).encode()
        self._write_bytes(self._record_file(pid), record)
        if value.rejected is not None:
            raise RegistrationError(
                f"{value.rejected}: the edit does not match the crop's geometry. Delete its file under "
                "augment/edited/ to have it edited again on the next run."
            )
        if value.encoded is not None and self._plain_png:  # the bytes this folder would encode
            self._write_bytes(pid + self._suffix, value.encoded)
            return self._files_of(pid)
        return super()._write_partition(pid, value.image)

    @property
    def _plain_png(self) -> bool:
        kind = self._dataset_config["type"]
        names = ("sdg_factory.datasets.ImageDataset", "sdg_factory.datasets.image.ImageDataset")
        return (self._suffix == ".png" and not self._dataset_config.get("save_args")
                and (kind is ImageDataset or kind in names))

    def save(self, data: dict[str, Any]) -> None:
        self._saving = set(data) if isinstance(data, dict) else set()
        slots = self._plan_edits(data) if isinstance(data, dict) and self._edits is not None else {}
        try:
            super().save(data)
        finally:
            self._saving = set()
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

    def _remove_stale(self, old, stats: dict, items: dict[str, dict]) -> int:
        # the record of an edit that failed in this save stays (beside no image): it says why
        failed_now = {self._record_file(pid) for pid in self._saving if pid not in items}
        return super()._remove_stale(old, {k: v for k, v in stats.items() if k not in failed_now}, items)

    def _owned_files(self, stats: dict) -> set[str]:
        # records of items no longer made are this dataset's too (their image may be gone)
        return super()._owned_files(stats) | {rel for rel in stats if rel.startswith(RECORDS_DIR + "/")}
