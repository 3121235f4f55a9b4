"""Contact sheets: many images tiled into one, for previews and docs."""

from __future__ import annotations

import math

import cv2
import numpy as np


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
        image = ((image - lo) / (hi - lo + 1e-12) * 255).astype(np.uint8)
    if image.ndim == 2:
        return np.dstack([image] * 3)
    if image.shape[2] == 4:
        alpha = image[..., 3:4].astype(np.float32) / 255.0
        return (image[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return image[..., :3]


def contact_sheet(images: list[np.ndarray], tile: int = 128, columns: int | None = None,
                  pad: int = 2) -> np.ndarray:
    """Tile ``images`` (any size, gray/RGB/RGBA) into one RGB sheet of ``tile``-sized cells."""
    if not images:
        return np.full((tile, tile, 3), 255, np.uint8)
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    sheet = np.full((rows * (tile + pad) + pad, columns * (tile + pad) + pad, 3), 255, np.uint8)
    for index, image in enumerate(images):
        rgb = _as_rgb(image)
        scale = tile / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
        r, c = divmod(index, columns)
        y = pad + r * (tile + pad) + (tile - size[1]) // 2
        x = pad + c * (tile + pad) + (tile - size[0]) // 2
        sheet[y : y + size[1], x : x + size[0]] = small
    return sheet
