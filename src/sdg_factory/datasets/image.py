"""``ImageDataset``: one image file as a numpy array (RGB/RGBA channel order), via fsspec."""

from __future__ import annotations

import base64
import posixpath
from pathlib import PurePosixPath
from typing import Any

import cv2
import numpy as np
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.single_file import SingleFileMixin
from sdg_factory.imaging import codecs
from sdg_factory.imaging.codecs import encode_image

_FORMATS = {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg", ".bmp": ".bmp", ".tif": ".tif", ".tiff": ".tif"}


def decode_image(data: bytes, mode: str = "unchanged", source: str = "<bytes>") -> np.ndarray:
    """:func:`sdg_factory.imaging.codecs.decode_image`, failing as a Kedro ``DatasetError``."""
    try:
        return codecs.decode_image(data, mode, source)
    except codecs.ImageDecodeError as exc:
        raise DatasetError(str(exc)) from exc


def image_to_preview(image: np.ndarray, max_side: int = 512) -> str:
    """A base64 PNG of ``image`` scaled to at most ``max_side`` (what kedro-viz shows)."""
    image = np.asarray(image)
    scale = max_side / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return base64.b64encode(encode_image(image, ".png")).decode()


class ImageDataset(SingleFileMixin, AbstractDataset[np.ndarray, np.ndarray]):
    """A PNG/JPEG file as an ``H×W``, ``H×W×3`` (RGB) or ``H×W×4`` (RGBA) array.

    kedro-datasets' pillow dataset hands nodes PIL images; the image maths here is numpy and
    OpenCV, so this dataset keeps arrays end to end, writes atomically and previews in
    kedro-viz.

    Args:
        filepath: local path or any fsspec URL.
        load_args: ``mode``: ``unchanged`` (default), ``rgb``, ``rgba`` or ``gray``.
        save_args: ``quality`` (JPEG), ``compression`` (PNG, 0-9).
    """

    def __init__(
        self,
        *,
        filepath: str,
        load_args: dict | None = None,
        save_args: dict | None = None,
        credentials: dict | None = None,
        fs_args: dict | None = None,
        metadata: dict | None = None,
    ) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        suffix = PurePosixPath(self._path).suffix.lower()
        # temporaries carry the final name after a prefix, so the suffix is still the format
        self._ext = _FORMATS.get(suffix, ".png")
        self._load_args = {"mode": "unchanged", **(load_args or {})}
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def load(self) -> np.ndarray:
        url = full_path(self._protocol, self._path)
        try:
            with self._fs.open(self._path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError as exc:
            raise DatasetError(f"image '{url}' does not exist") from exc
        return decode_image(data, self._load_args["mode"], source=url)

    def save(self, data: np.ndarray) -> None:
        if self._skip_save(data):
            return
        self._save_bytes(encode_image(data, self._ext, **self._save_args))

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path), "load_args": self._load_args}

    def preview(self, max_side: int = 512) -> ImagePreview:
        """The image, downscaled, for kedro-viz."""
        return ImagePreview(image_to_preview(self.load(), max_side))

    @property
    def filename(self) -> str:
        return posixpath.basename(self._path)
