"""``PartitionedDataset``: a folder of files, one per partition, any Kedro dataset per file."""

from __future__ import annotations

import copy
import posixpath
from functools import cached_property
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import parse_dataset_definition
from kedro_datasets._typing import ImagePreview, TablePreview

from sdg_factory.datasets._fs import full_path, is_object_store, temp_sibling
from sdg_factory.datasets.partitions import BasePartitionsDataset

#: configuration keys ``from_config`` handles itself (versions, the catalog's validator)
_KEDRO_ONLY_KEYS = frozenset({"versioned", "version", "validator"})


class PartitionedDataset(BasePartitionsDataset):
    """A folder of files, each loaded and saved by an underlying Kedro dataset.

    Catalog example::

        normal_imgs:
          type: sdg_factory.datasets.PartitionedDataset
          path: ${globals:dig_url_root}/runs/demo/augment/crop
          dataset: sdg_factory.datasets.ImageDataset
          filename_suffix: .png
          executor: {type: processes, max_workers: 2}

    ``load`` returns ``{partition_id: loader}``; ``save`` takes ``{partition_id: value}`` or
    ``{partition_id: callable}`` (lazy savers, computed on the executor's workers). The
    partition id is the file's path below ``path`` without ``filename_suffix``.
    """

    def __init__(
        self,
        *,
        path: str,
        dataset: str | dict | type,
        filename_suffix: str = "",
        filepath_arg: str = "filepath",
        credentials: dict | None = None,
        fs_args: dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, credentials=credentials, fs_args=fs_args, **kwargs)
        if isinstance(dataset, (str, type)):
            dataset = {"type": dataset}
        self._dataset_config = dict(dataset)
        if credentials and "credentials" not in self._dataset_config:
            self._dataset_config["credentials"] = credentials
        if fs_args and "fs_args" not in self._dataset_config:
            self._dataset_config["fs_args"] = fs_args
        self._suffix = filename_suffix
        if filename_suffix:  # two datasets may share a folder with different suffixes
            self._manifest_name = f".sdg_manifest{filename_suffix}.json"
            self._temporary_suffix = (filename_suffix, self._manifest_name)
        self._filepath_arg = filepath_arg

    def _file(self, pid: str) -> str:
        return self._join(pid + self._suffix)

    def _dataset_at(self, path: str) -> AbstractDataset:
        config = copy.deepcopy(self._dataset_config)
        kind = config.pop("type")
        config[self._filepath_arg] = full_path(self._protocol, path)
        if isinstance(kind, type):
            return kind(**config)
        name = f"partition:{posixpath.basename(path)}"
        resolved = self._dataset_class
        if resolved is not None and not _KEDRO_ONLY_KEYS & config.keys():
            try:
                return resolved(**config)
            except Exception:  # noqa: BLE001 - Kedro's own path raises its DatasetError for this config
                pass
        return AbstractDataset.from_config(name, {"type": kind, **config})

    @cached_property
    def _dataset_class(self) -> type | None:
        """The partition dataset's class, imported once per folder instead of once per partition
        (``from_config`` resolves the type's dotted path at every call); ``None`` for a versioned
        class, which ``from_config`` keeps building (it gives each one its save version)."""
        kind = self._dataset_config["type"]
        try:
            resolved, _ = parse_dataset_definition({"type": kind})
        except Exception:  # noqa: BLE001 - from_config raises the error where the partition is made
            return None
        return None if getattr(resolved, "versioned", False) else resolved

    def _list_partitions(self) -> list[str]:
        return self._ids_by_suffix(self._suffix)

    def _load_partition(self, pid: str) -> Any:
        return self._dataset_at(self._file(pid)).load()

    def _partition_complete(self, pid: str) -> bool:
        return self._fs.exists(self._file(pid))

    def _files_of(self, pid: str) -> list[str]:
        return [pid + self._suffix]

    def _owned_files(self, stats: dict) -> set[str]:
        # without a suffix every file below the folder would match (another dataset's files
        # may share it): then only the files its own manifest records are its own
        return super()._owned_files(stats) if self._suffix else set()

    @cached_property
    def _dataset_writes_atomically(self) -> bool:
        kind = self._dataset_config["type"]
        if not isinstance(kind, type):
            kind, _ = parse_dataset_definition({"type": kind})
        return bool(getattr(kind, "writes_atomically", False))

    def _write_partition(self, pid: str, value: Any) -> list[str]:
        """Write one partition so that its file is never visible truncated.

        Our own datasets (``writes_atomically``) already write their final path atomically, so
        they save there directly: a rename locally, one PUT on an object store. Any other Kedro
        dataset streams into an fsspec file — and an fsspec file on an object store commits
        whatever was written when it is closed, even after an error — so it saves to a hidden
        temporary, which is moved into place: a rename locally, a server-side copy (atomic per
        object) then a delete on an object store. A run killed between the copy and the delete
        leaves only the hidden temporary, which the next save removes.
        """
        final = self._file(pid)
        if self._dataset_writes_atomically:
            self._dataset_at(final).save(value)
            return self._files_of(pid)
        if not is_object_store(self._fs):
            self._fs.makedirs(posixpath.dirname(final), exist_ok=True)
        tmp = temp_sibling(final)
        try:
            self._dataset_at(tmp).save(value)
            self._fs.mv(tmp, final)
        except BaseException:
            if self._fs.exists(tmp):
                self._fs.rm(tmp)
            raise
        return self._files_of(pid)

    def preview(self, limit: int = 16, tile: int = 128, colormap: str | None = None,
                overlay: str | None = None) -> ImagePreview:
        """A contact sheet of the first ``limit`` image partitions, for kedro-viz.

        ``colormap`` (e.g. ``inferno``) paints 2-D arrays (anomaly maps, gray masks) in colour;
        ``overlay`` names a folder of images with the same partition ids (relative to this
        dataset's path, e.g. ``../images``, or a full URL): each partition is then drawn as a mask
        over its image. Set them under ``metadata: kedro-viz: preview_args:`` in the catalog."""
        return ImagePreview(_images_preview(self, limit, tile, colormap, overlay))

    def load_partition(self, pid: str) -> Any:
        """Load one partition by id (raises a clear error when it does not exist)."""
        if not self._fs.exists(self._file(pid)):
            raise DatasetError(f"no partition {pid!r} in '{self._path}' (looked for {self._url(self._file(pid))})")
        return self._load_partition(pid)


def _images_preview(dataset: PartitionedDataset, limit: int, tile: int, colormap: str | None = None,
                    overlay: str | None = None) -> str:
    import numpy as np

    from sdg_factory.datasets.image import image_to_preview
    from sdg_factory.imaging.contact_sheet import colourise, contact_sheet, overlay_mask

    backdrop = _overlay_folder(dataset, overlay) if overlay else None
    images = []
    for pid in sorted(dataset._list_partitions())[:limit]:
        value = dataset._load_partition(pid)
        if not (isinstance(value, np.ndarray) and value.ndim in (2, 3)):
            continue
        if backdrop is not None and pid in backdrop:
            value = overlay_mask(backdrop[pid](), value)
        elif colormap and value.ndim == 2:
            value = colourise(value, colormap)
        images.append(value)
    if not images:
        raise DatasetError(f"nothing to preview: no image partitions in '{dataset._path}' yet")
    return image_to_preview(contact_sheet(images, tile=tile), max_side=1024)


def _overlay_folder(dataset: PartitionedDataset, overlay: str) -> dict:
    """The images a mask preview is drawn over: ``overlay`` relative to ``dataset``'s path, or a URL."""
    if "://" in overlay or posixpath.isabs(overlay):
        path = overlay
    else:
        path = full_path(dataset._protocol, posixpath.normpath(posixpath.join(dataset._root, overlay)))
    images = PartitionedDataset(path=path, dataset={"type": "sdg_factory.datasets.ImageDataset",
                                                    "load_args": {"mode": "rgb"}},
                                filename_suffix=dataset._suffix,
                                credentials=dataset._dataset_config.get("credentials"),
                                fs_args=dataset._dataset_config.get("fs_args"))
    return images.load()


class PartitionedTableDataset(PartitionedDataset):
    """A :class:`PartitionedDataset` of text, JSON or YAML files that previews as a table.

    Loads and saves exactly like ``PartitionedDataset``; kedro-viz shows one row per partition
    (its id and the start of its content) instead of a contact sheet."""

    def preview(self, nrows: int = 20, width: int = 400) -> TablePreview:
        import json

        rows = []
        for pid in sorted(self._list_partitions())[:nrows]:
            value = self._load_partition(pid)
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            rows.append([pid, text if len(text) <= width else text[: width - 1] + "…"])
        return TablePreview({"index": list(range(len(rows))), "columns": ["partition", "content"], "data": rows})
