"""``MaskedImageFolder``: a folder of images with optional per-image masks beside them.

``<root>/<id>.png`` is the image and ``<root>/masks/<id>.png`` its object mask when one is
known (the exact composite mask of a classical composite; absent for a generative edit whose
geometry is unknown). Loading gives ``{id: loader}`` where a loader returns
``{"image": rgb, "mask": gray or None}``; saving takes ``{id: value or zero-arg callable}``
with the same dicts (a loaded item is a :class:`LazyItem`: ``item["mask"]`` decodes only the
mask). Partitions are saved through the executors of
:class:`~sdg_factory.datasets.partitions.BasePartitionsDataset` (atomic, resumable, failures
recorded); an item is complete when its image exists.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets._fs import is_hidden
from sdg_factory.datasets._png import png_kind
from sdg_factory.datasets.image import decode_image, encode_image
from sdg_factory.datasets.lazy_item import LazyItem
from sdg_factory.datasets.partitions import BasePartitionsDataset

MASK_DIR = "masks"


class MaskedImageFolder(BasePartitionsDataset):
    def __init__(self, *, path: str, suffix: str = ".png", **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._suffix = suffix

    def _image(self, pid: str) -> str:
        return self._join(pid + self._suffix)

    def _mask(self, pid: str) -> str:
        return self._join(MASK_DIR, pid + ".png")

    def _list_partitions(self) -> list[str]:
        return self._ids_by_suffix(self._suffix, skip_folder=MASK_DIR)

    def _read(self, path: str, mode: str):
        with self._fs.open(path, "rb") as handle:
            return decode_image(handle.read(), mode, source=self._url(path))

    def _load_partition(self, pid: str) -> LazyItem:
        def mask():
            mask_path = self._mask(pid)
            return self._read(mask_path, "gray") if self._fs.exists(mask_path) else None

        return LazyItem({"image": lambda: self._read(self._image(pid), "rgb"), "mask": mask})

    def _files_of(self, pid: str) -> list[str]:
        mask = posixpath.join(MASK_DIR, pid + ".png")
        return [pid + self._suffix] + ([mask] if self._fs.exists(self._join(mask)) else [])

    def _owned_files(self, stats: dict) -> set[str]:
        return {rel for rel in stats if rel.endswith(self._suffix) and not is_hidden(rel)}

    def _partition_complete(self, pid: str) -> bool:
        return self._fs.exists(self._image(pid))

    def _write_partition(self, pid: str, value: Any) -> list[str]:
        if not isinstance(value, Mapping) or "image" not in value:
            raise TypeError(f"{pid}: a MaskedImageFolder item is a dict with 'image' (and optional 'mask')")
        # the mask first: an item whose image exists is complete, so its mask must already be there
        if value.get("mask") is not None:
            self._write_bytes(posixpath.join(MASK_DIR, pid + ".png"), encode_image(value["mask"], ".png"))
        elif self._fs.exists(self._mask(pid)):
            self._fs.rm(self._mask(pid))
        ext = ".jpg" if self._suffix in (".jpg", ".jpeg") else ".png"
        self._write_bytes(pid + self._suffix, encode_image(value["image"], ext))
        return self._files_of(pid)

    def image_png(self, pid: str) -> bytes | None:
        """The image file of ``pid`` when a load and a PNG save would write its bytes again (an
        8-bit RGB PNG: the images this project writes), else None — a saver of the same pixels
        elsewhere writes these bytes instead of encoding them once more."""
        if self._suffix != ".png":
            return None
        with self._fs.open(self._image(pid), "rb") as handle:
            image = handle.read()
        return image if png_kind(image) == "rgb8" else None

    def _copy_item(self, pid: str, value: Any) -> list[str] | None:
        """Save the loader of the same item of another ``MaskedImageFolder`` (a combined folder
        made of others) by copying its files: the bytes that decoding and re-encoding them would
        write (8-bit RGB image, 8-bit gray mask, PNG), without the round trip. None: not such a loader."""
        source = getattr(value, "source", None)
        if type(source) is not type(self) or getattr(value, "pid", None) != pid or self._suffix != ".png":
            return None
        image = source.image_png(pid)  # None: not an 8-bit RGB PNG, a load would convert it
        mask = None
        if source._fs.exists(source._mask(pid)):
            with source._fs.open(source._mask(pid), "rb") as handle:
                mask = handle.read()
        if image is None or (mask is not None and png_kind(mask) != "gray8"):
            return None  # take the decoding path
        if mask is not None:
            self._write_bytes(posixpath.join(MASK_DIR, pid + ".png"), mask)
        elif self._fs.exists(self._mask(pid)):
            self._fs.rm(self._mask(pid))
        self._write_bytes(pid + self._suffix, image)
        return self._files_of(pid)

    def preview(self, limit: int = 16, tile: int = 128) -> ImagePreview:
        """The first images as a contact sheet, each with its object mask (when known) outlined."""
        from sdg_factory.datasets.image import image_to_preview
        from sdg_factory.imaging.contact_sheet import contact_sheet, overlay_mask

        images = []
        for pid in sorted(self._list_partitions())[:limit]:
            item = self._load_partition(pid)
            image, mask = item["image"], item["mask"]
            images.append(image if mask is None else overlay_mask(image, mask, (0, 255, 0), alpha=0.25))
        return ImagePreview(image_to_preview(contact_sheet(images, tile=tile), max_side=1024))
