"""Image bytes <-> arrays in RGB/RGBA channel order (OpenCV underneath): the one codec of the
project, used by the datasets (files) and by the HTTP backends (request and answer payloads)."""

from __future__ import annotations

import cv2
import numpy as np


class ImageDecodeError(ValueError):
    """Bytes that are not a decodable image."""


def encode_image(image: np.ndarray, ext: str = ".png", quality: int = 95, compression: int = 3) -> bytes:
    """Encode an RGB/RGBA/gray array to image bytes (channel order converted for OpenCV)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    params: list[int] = []
    if ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]
    elif ext == ".jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode an image of shape {image.shape} as {ext}")
    return buf.tobytes()


def decode_image(data: bytes, mode: str = "unchanged", source: str = "<bytes>") -> np.ndarray:
    """Decode image bytes to an RGB/RGBA/gray array; ``mode`` is unchanged|rgb|rgba|gray."""
    flags = {
        "unchanged": cv2.IMREAD_UNCHANGED,
        "rgb": cv2.IMREAD_COLOR,
        "rgba": cv2.IMREAD_UNCHANGED,
        "gray": cv2.IMREAD_GRAYSCALE,
    }[mode]
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags) if data else None
    if image is None:
        raise ImageDecodeError(
            f"cannot decode image '{source}': the file is empty, truncated or not an image. "
            "Delete it (or re-create it with the stage that writes it) and run again."
        )
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    if mode == "rgba" and image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGBA)
    elif mode == "rgba" and image.shape[2] == 3:
        image = np.dstack([image, np.full(image.shape[:2], 255, image.dtype)])
    return image
