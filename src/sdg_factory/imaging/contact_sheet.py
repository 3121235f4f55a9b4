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


_COLORMAPS = {"inferno": cv2.COLORMAP_INFERNO, "jet": cv2.COLORMAP_JET, "viridis": cv2.COLORMAP_VIRIDIS,
              "magma": cv2.COLORMAP_MAGMA, "turbo": cv2.COLORMAP_TURBO}


def colourise(array: np.ndarray, colormap: str = "inferno") -> np.ndarray:
    """A 2-D array (anomaly map, gray mask) as an RGB picture: min→dark, max→bright."""
    if colormap not in _COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {sorted(_COLORMAPS)}")
    rgb = _as_rgb(array)  # floats are stretched to 0..255
    gray = rgb[..., 0] if np.asarray(array).ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(cv2.applyColorMap(gray, _COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)


def overlay_mask(image: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = (255, 0, 0),
                 alpha: float = 0.4) -> np.ndarray:
    """``image`` (RGB) with ``mask`` (non-zero = inside) tinted in ``colour`` and outlined."""
    rgb = _as_rgb(image).copy()
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., 3] if mask.shape[2] == 4 else mask.max(axis=2)
    if mask.shape[:2] != rgb.shape[:2]:
        mask = cv2.resize(mask, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
    inside = mask > 0
    tint = np.array(colour, np.float32)
    rgb[inside] = (rgb[inside] * (1 - alpha) + tint * alpha).astype(np.uint8)
    contours, _ = cv2.findContours(inside.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(rgb, contours, -1, tuple(int(c) for c in colour), max(1, max(rgb.shape[:2]) // 128))
    return rgb
