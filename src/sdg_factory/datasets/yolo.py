"""``YoloSegDataset``: an ultralytics segmentation dataset folder.

Layout (what ``ultralytics`` reads)::

    dataset.yaml            train: train/images, val: val/images, nc, names
    classes.txt             one class name per line
    train/images/<stem>.png train/labels/<stem>.txt
    val/images/<stem>.png   val/labels/<stem>.txt

Load gives a :class:`YoloItems` (class names + ``{"<split>/<stem>": loader}``, a loader returning
``{"image": rgb, "label": text}``); save takes a :class:`YoloItems` whose items are values or
zero-arg callables returning them; a value may name the loader its image came from
(``"image_from"``: an item of a ``MaskedImageFolder``), whose PNG file is then written as it is
instead of encoding the same pixels again. Items are written through the partition executors (atomic,
resumable, failures recorded); an item is complete when both its image and label exist. An
item written to one split is removed from the others, so re-splitting never duplicates it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

import yaml
from kedro.io import DatasetError
from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets._png import png_kind
from sdg_factory.datasets.image import decode_image, encode_image
from sdg_factory.datasets.lazy_item import LazyItem
from sdg_factory.datasets.partitions import BasePartitionsDataset
from sdg_factory.fingerprints.context import UNCHANGED

SPLITS = ("train", "val", "test")


@dataclass
class YoloItems:
    names: list[str]
    items: dict[str, Any] = field(default_factory=dict)


def dataset_yaml(names: list[str], splits: list[str]) -> str:
    doc = {split: f"{split}/images" for split in splits}
    doc.update({"nc": len(names), "names": {i: n for i, n in enumerate(names)}})
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _png_of(loader: Any) -> bytes | None:
    """The PNG bytes of the image ``loader`` loads when saving its pixels would write them again
    (its dataset says so: ``MaskedImageFolder.image_png``), else None."""
    image_png = getattr(getattr(loader, "source", None), "image_png", None)
    return None if image_png is None else image_png(loader.pid)


class YoloSegDataset(BasePartitionsDataset):
    def __init__(self, *, path: str, image_suffix: str = ".png", **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._image_suffix = image_suffix

    @staticmethod
    def _split(pid: str) -> tuple[str, str]:
        split, _, stem = pid.partition("/")
        if split not in SPLITS or not stem or "/" in stem:
            raise DatasetError(f"YOLO item id {pid!r} must be '<train|val|test>/<stem>'")
        return split, stem

    def _files(self, pid: str) -> tuple[str, str]:
        split, stem = self._split(pid)
        return (posixpath.join(split, "images", stem + self._image_suffix),
                posixpath.join(split, "labels", stem + ".txt"))

    def _list_partitions(self) -> list[str]:
        pids = []
        for split in SPLITS:
            folder = self._join(split, "labels")
            if not self._fs.exists(folder):
                continue
            for path in self._fs.ls(folder, detail=False):
                name = posixpath.basename(path)
                if name.endswith(".txt") and not name.startswith("."):
                    pid = f"{split}/{name[:-4]}"
                    if self._fs.exists(self._join(self._files(pid)[0])):
                        pids.append(pid)
        return pids

    def _load_partition(self, pid: str) -> LazyItem:
        image_rel, label_rel = self._files(pid)

        def image():
            with self._fs.open(self._join(image_rel), "rb") as handle:
                return decode_image(handle.read(), "rgb", source=self._url(self._join(image_rel)))

        def label():
            with self._fs.open(self._join(label_rel), "rb") as handle:
                return handle.read().decode()

        return LazyItem({"image": image, "label": label})  # a label is read without decoding the image

    def _files_of(self, pid: str) -> list[str]:
        return list(self._files(pid))

    def _owned_files(self, stats: dict) -> set[str]:
        return {rel for rel in stats if rel.count("/") == 2 and rel.split("/")[0] in SPLITS
                and rel.split("/")[1] in ("images", "labels")}

    def _partition_complete(self, pid: str) -> bool:
        image_rel, label_rel = self._files(pid)
        return self._fs.exists(self._join(image_rel)) and self._fs.exists(self._join(label_rel))

    def _clear_other_splits(self, pid: str) -> None:
        split, stem = self._split(pid)
        for other in SPLITS:
            if other != split:
                for rel in self._files(f"{other}/{stem}"):
                    if self._fs.exists(self._join(rel)):
                        self._fs.rm(self._join(rel))

    def _copy_item(self, pid: str, value: Any) -> list[str] | None:
        """Save the loader of the same item of another ``YoloSegDataset`` (the combined dataset
        of step 7) by copying its image and label: the bytes that decoding and re-encoding them
        would write (8-bit RGB PNG, a label ending in a newline), without the round trip."""
        source = getattr(value, "source", None)
        if (type(source) is not type(self) or getattr(value, "pid", None) != pid
                or self._image_suffix != ".png" or source._image_suffix != ".png"):
            return None
        image_src, label_src = source._files(pid)
        with source._fs.open(source._join(image_src), "rb") as handle:
            image = handle.read()
        with source._fs.open(source._join(label_src), "rb") as handle:
            label = handle.read()
        try:
            label.decode()
        except UnicodeDecodeError:
            return None
        if png_kind(image) != "rgb8" or (label and not label.endswith(b"\n")):
            return None  # a load and save would convert it: take the decoding path
        self._clear_other_splits(pid)
        image_rel, label_rel = self._files(pid)
        self._write_bytes(image_rel, image)
        self._write_bytes(label_rel, label)
        return [image_rel, label_rel]

    def _write_partition(self, pid: str, value: Any) -> list[str]:
        self._clear_other_splits(pid)
        image_rel, label_rel = self._files(pid)
        ext = ".jpg" if self._image_suffix in (".jpg", ".jpeg") else ".png"
        same = _png_of(value.get("image_from")) if ext == ".png" else None
        self._write_bytes(image_rel, same if same is not None else encode_image(value["image"], ext))
        label = value["label"]
        self._write_bytes(label_rel, (label if label.endswith("\n") or not label else label + "\n").encode())
        return [image_rel, label_rel]

    def load(self) -> YoloItems:
        names: list[str] = []
        classes = self._join("classes.txt")
        if self._fs.exists(classes):
            with self._fs.open(classes, "rb") as handle:
                names = [n for n in handle.read().decode().splitlines() if n.strip()]
        return YoloItems(names, super().load())

    def save(self, data: YoloItems) -> None:
        if data is UNCHANGED:  # the node was skipped: the dataset is already what it would write
            return super().save(data)
        if not isinstance(data, YoloItems):
            raise DatasetError(f"YoloSegDataset at '{self._path}' saves a YoloItems(names, items); "
                               f"the node returned {type(data).__name__}")
        splits = sorted({self._split(pid)[0] for pid in data.items} | {"train", "val"}, key=SPLITS.index)
        self._write_bytes_if_changed("classes.txt", ("\n".join(data.names) + "\n").encode())
        self._write_bytes_if_changed("dataset.yaml", dataset_yaml(data.names, splits).encode())
        for split in splits:  # ultralytics expects both folders, even when a split is empty
            self._fs.makedirs(self._join(split, "images"), exist_ok=True)
            self._fs.makedirs(self._join(split, "labels"), exist_ok=True)
        super().save(dict(data.items))

    def _exists(self) -> bool:
        return self._fs.exists(self._join("dataset.yaml"))

    def preview(self, limit: int = 16, tile: int = 128) -> ImagePreview:
        """Images with their polygons drawn, for kedro-viz."""
        import cv2
        import numpy as np

        from sdg_factory.datasets.image import image_to_preview
        from sdg_factory.imaging.contact_sheet import contact_sheet
        from sdg_factory.imaging.yolo_labels import parse_yolo_label

        sheets = []
        for pid in sorted(self._list_partitions())[:limit]:
            item = self._load_partition(pid)
            image = item["image"].copy()
            h, w = image.shape[:2]
            for _, poly in parse_yolo_label(item["label"]):
                cv2.polylines(image, [np.round(poly * [w, h]).astype(np.int32)], True, (0, 255, 0), 2)
            sheets.append(image)
        return ImagePreview(image_to_preview(contact_sheet(sheets, tile=tile), max_side=1024))
