"""``InspectionFolderDataset``: a folder of the user's own images to inspect (read-only).

The layout (``docs/formats.md``, "Inspection folder")::

    <dir>/images/<id>.<ext>     images to inspect (PNG, JPG, BMP, TIFF; 8/16-bit; gray, RGB, RGBA; nested)
    <dir>/golden/<id>.<ext>     optional: the golden (defect-free) reference of each image
    <dir>/good/<id>.<ext>       optional: defect-free images to fit a detector on (their own ids)
    <dir>/boxes/<id>.txt        optional: YOLO boxes, one ``class cx cy w h`` (normalised) per line
    <dir>/masks/<id>.png        optional: binary ground truth (any value > 0 is a defect)
    <dir>/classes.txt           optional: one class name per line (line k names class k)

An item's id is its path below ``images/`` without the extension (``lot3/board_07``). ``load``
lists the folder and returns lazy loaders; nothing is decoded until a loader is called. A file
that cannot be read raises :class:`InspectionItemError` naming the id and the file, so the node
that calls it can report that item and keep the others. Problems seen while listing (two image
files for one id) are returned under ``problems``. The folder is never written: ``save`` refuses.

``source`` of ``none`` (or empty) loads as ``None`` (an optional input, e.g. no ``calib_dir``).

Catalog example::

    defects.infer_input:
      type: sdg_factory.datasets.inspection_folder.InspectionFolderDataset
      source: ${runtime_params:input_dir, none}

``load()`` returns::

    {"root": "<dir>", "images": {id: loader}, "image_files": {id: "images/<id>.png"},
     "golden": {id: loader}, "good": {id: loader}, "boxes": {id: loader}, "masks": {id: loader},
     "classes": ["open", ...] or None, "problems": [{"id", "file", "error"}]}

A box loader returns ``[(class_id, cx, cy, w, h), ...]``; a mask loader a ``bool`` ``H×W`` array;
image loaders the decoded array (``uint8`` or ``uint16``, RGB channel order).
"""

from __future__ import annotations

import math
import posixpath
from functools import partial
from typing import Any

import numpy as np
from kedro.io import DatasetError

from sdg_factory.datasets._fs import full_path, is_hidden
from sdg_factory.datasets.image import decode_image
from sdg_factory.datasets.user_source import UserSourceDataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
BOX_TOLERANCE = 1e-3  # boxes may poke out of the image by rounding, not more


class InspectionItemError(DatasetError):
    """One item of an inspection folder cannot be read; names the item id and the file."""

    def __init__(self, message: str, *, item_id: str, file: str) -> None:
        self.item_id, self.file, self.reason = item_id, file, message
        super().__init__(f"item '{item_id}' ({file}): {message}")


class InspectionFolderDataset(UserSourceDataset):
    """See the module docstring."""

    # --- listing ---------------------------------------------------------------------------
    def _load_from(self, fs: Any, protocol: str, root: str, url: str) -> dict[str, Any]:
        if not fs.isdir(root):
            raise DatasetError(f"inspection folder '{url}' does not exist or is not a folder; give the folder "
                               "that holds images/ (and optionally golden/, good/, boxes/, masks/)")
        problems: list[dict[str, str]] = []
        images = _files(fs, root, "images", IMAGE_SUFFIXES, problems)
        if not images:
            raise DatasetError(f"inspection folder '{url}' has no images in {url}/images/ (PNG, JPG, BMP or TIFF, "
                               "nested folders allowed); put the images to inspect there")
        golden = _files(fs, root, "golden", IMAGE_SUFFIXES, problems)
        good = _files(fs, root, "good", IMAGE_SUFFIXES, problems)
        boxes = _files(fs, root, "boxes", (".txt",), problems)
        masks = _files(fs, root, "masks", (".png",), problems)
        classes = _classes(fs, root)
        read = partial(_read_image, fs, protocol, root)
        return {
            "root": url,
            "images": {i: partial(read, i, f) for i, f in images.items()},
            "image_files": dict(images),
            "golden": {i: partial(read, i, f) for i, f in golden.items()},
            "golden_files": dict(golden),
            "good": {i: partial(read, i, f) for i, f in good.items()},
            "boxes": {i: partial(_read_boxes, fs, root, i, f, classes) for i, f in boxes.items()},
            "masks": {i: partial(_read_mask, fs, protocol, root, i, f) for i, f in masks.items()},
            "classes": classes,
            "problems": problems,
        }


def _files(fs: Any, root: str, sub: str, suffixes: tuple[str, ...], problems: list) -> dict[str, str]:
    """``{id: "sub/<relative file>"}`` of the visible files below ``root/sub`` with a known suffix."""
    folder = posixpath.join(root, sub)
    if not fs.isdir(folder):
        return {}
    out: dict[str, str] = {}
    for path in sorted(fs.find(folder)):
        rel = posixpath.relpath(path, folder)
        stem, ext = posixpath.splitext(rel)
        if is_hidden(rel) or ext.lower() not in suffixes:
            continue
        if stem in out:
            problems.append({"id": stem, "file": f"{sub}/{rel}",
                             "error": f"two files for one id in {sub}/ ({out[stem]} and {sub}/{rel}); "
                                      f"keep one, the first is used"})
            continue
        out[stem] = f"{sub}/{rel}"
    return out


def _classes(fs: Any, root: str) -> list[str] | None:
    path = posixpath.join(root, "classes.txt")
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as handle:
        text = handle.read().decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_bytes(fs: Any, root: str, item_id: str, rel: str) -> bytes:
    try:
        with fs.open(posixpath.join(root, rel), "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InspectionItemError(f"cannot read the file ({exc})", item_id=item_id, file=rel) from exc


def _read_image(fs: Any, protocol: str, root: str, item_id: str, rel: str) -> np.ndarray:
    data = _read_bytes(fs, root, item_id, rel)
    try:
        image = decode_image(data, "unchanged", source=full_path(protocol, posixpath.join(root, rel)))
    except DatasetError as exc:
        raise InspectionItemError("the file is empty, truncated or not an image; "
                                  "replace or remove it", item_id=item_id, file=rel) from exc
    if image.dtype not in (np.uint8, np.uint16):
        raise InspectionItemError(f"{image.dtype} pixels are not supported; save it as 8- or 16-bit",
                                  item_id=item_id, file=rel)
    return image


def _read_mask(fs: Any, protocol: str, root: str, item_id: str, rel: str) -> np.ndarray:
    mask = _read_image(fs, protocol, root, item_id, rel)
    return (mask.max(axis=2) if mask.ndim == 3 else mask) > 0


def _read_boxes(fs: Any, root: str, item_id: str, rel: str, classes: list[str] | None
                ) -> list[tuple[int, float, float, float, float]]:
    text = _read_bytes(fs, root, item_id, rel).decode("utf-8", errors="replace")
    boxes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        where = f"line {number}"
        try:
            values = [float(v) for v in fields]
        except ValueError:
            values = []
        if len(fields) != 5 or len(values) != 5 or not all(math.isfinite(v) for v in values) \
                or values[0] != int(values[0]) or values[0] < 0:
            raise InspectionItemError(f"{where} is {line.strip()!r}; a YOLO box line is "
                                      "'class cx cy w h' (a class number, then four numbers in [0, 1])",
                                      item_id=item_id, file=rel)
        cls, cx, cy, w, h = int(values[0]), *values[1:]
        if classes is not None and cls >= len(classes):
            raise InspectionItemError(f"{where}: class {cls} is not in classes.txt "
                                      f"({len(classes)} classes: 0..{len(classes) - 1})", item_id=item_id, file=rel)
        t = BOX_TOLERANCE
        if not (w > 0 and h > 0 and cx - w / 2 >= -t and cy - h / 2 >= -t and cx + w / 2 <= 1 + t
                and cy + h / 2 <= 1 + t):
            raise InspectionItemError(f"{where}: box {line.strip()!r} is out of range; cx cy w h are "
                                      "fractions of the image width and height and the box must lie in [0, 1]",
                                      item_id=item_id, file=rel)
        boxes.append((cls, cx, cy, w, h))
    return boxes
