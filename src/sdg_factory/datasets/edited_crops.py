"""``EditedCropsDataset``: each ROI's image edit, written by the task that also registers it.

The restyle node hands every ROI's edit to two outputs as one :class:`EditSlot`: to
``augmented_crops`` (a :class:`~sdg_factory.datasets.RegisteredEditsDataset` given this folder
as ``edits``), whose pool task makes the edit, writes it here, registers the in-memory edit
onto the crop it decoded and writes the aligned result; and to this dataset, saved after it,
which takes the files those tasks wrote as they are (no second edit, no decode and re-encode)
and fingerprints them like any folder item. An edit no task wrote (its aligned crop was
already up to date, or the folder was saved on its own) is made here, as a
``PartitionedDataset`` of images would (``augmented_crops``' entry is in its module)::

    edited_crops:
      type: sdg_factory.datasets.EditedCropsDataset
      path: ${globals:dig_url_root}/runs/demo/augment/edited   # augmented_crops' `edits`
      executor: {type: processes, max_workers: 2}   # used only for edits no task made
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kedro.io import DatasetError

from sdg_factory.datasets.image import ImageDataset
from sdg_factory.datasets.partitioned import PartitionedDataset
from sdg_factory.fingerprints.hashing import stat_key
from sdg_factory.imaging.codecs import encode_image


class EditSlot(partial):
    """One ROI's edit, not made yet: ``slot()`` makes it (a lazy saver, like any ``partial``).

    Before its registration task runs, the dataset that saves that task says where the edit
    stands (:meth:`read_from`, :meth:`write_to`); the task then asks for it with :meth:`edit`.
    """

    def read_from(self, loader: Any) -> None:
        """The folder already holds this edit, up to date: the task reads it back."""
        self.__dict__.update(source=loader, sink=None)

    def write_to(self, dataset: PartitionedDataset, pid: str, before: Any) -> None:
        """The task makes the edit and writes it to ``dataset`` (whose file ``pid`` had the
        stat ``before``, or None, when the task was planned)."""
        self.__dict__.update(source=None, sink=(dataset, pid), before=before)

    def failed(self, error: str) -> None:
        """The task failed (``error``): an edit it did not write is not made a second time."""
        self.__dict__["error"] = error

    def edit(self, **given: Any) -> Any:
        """The edit, for the registration task: read back, or made now (``self(**given)``:
        ``given`` lets the task pass the input it already decoded) and written where planned."""
        source, sink = self.__dict__.get("source"), self.__dict__.get("sink")
        if source is not None:
            return source()
        value = self(**given)
        if sink is not None:  # a folder of PNGs with the default settings (RegisteredEditsDataset's)
            dataset, pid = sink
            self.__dict__["encoded"] = encoded = encode_image(value, ".png")
            dataset._write_bytes(pid + ".png", encoded)  # noqa: SLF001 - the folder's own atomic write
        return value

    @property
    def encoded(self) -> bytes | None:
        """The PNG bytes :meth:`edit` wrote (None when it wrote nothing)."""
        return self.__dict__.get("encoded")


class EditedCropsDataset(PartitionedDataset):
    """See the module docstring."""

    def __init__(self, *, path: str, **kwargs: Any) -> None:
        kwargs.setdefault("dataset", ImageDataset)
        kwargs.setdefault("filename_suffix", ".png")
        super().__init__(path=path, **kwargs)

    def save(self, data: dict[str, Any]) -> None:
        if isinstance(data, dict) and data and all(isinstance(v, EditSlot) and "source" in v.__dict__
                                                   for v in data.values()):
            stats = self._stat_files()
            if all(v.__dict__["sink"] is None or self._written(pid, v, stats) for pid, v in data.items()):
                # the registration tasks made every edit: taking their files is a stat each, not worth a pool
                spec, self._executor_spec = self._executor_spec, "serial"
                try:
                    super().save(data)
                finally:
                    self._executor_spec = spec
                return
        super().save(data)

    def _written(self, pid: str, slot: EditSlot, stats: dict) -> bool:
        """True when the file of ``pid`` was written after its task was planned."""
        now, before = stats.get(pid + self._suffix), slot.__dict__.get("before")
        return now is not None and (before is None or list(now) != list(before))

    def _copy_item(self, pid: str, value: Any) -> list[str] | None:
        """The file of an edit that its registration task wrote in this run, as it is; None:
        no task wrote it, so it is made here."""
        if not isinstance(value, EditSlot) or value.__dict__.get("sink") is None:
            return None
        rel = pid + self._suffix
        try:
            stats = {rel: stat_key(self._fs.info(self._join(rel)))}
        except FileNotFoundError:
            stats = {}
        if self._written(pid, value, stats):
            return [rel]
        if value.__dict__.get("error"):
            raise DatasetError(f"the restyle task of {pid} failed before it wrote the edit: {value.__dict__['error']}")
        return None
