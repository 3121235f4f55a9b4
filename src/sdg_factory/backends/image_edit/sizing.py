"""Sizes for generative edits: small crops go up to the model's working size and come back.

Image-edit models work at hundreds of pixels per side; an ROI crop is often a few dozen. The
crop is upscaled (aspect kept, each side a multiple of ``multiple_of``) before the call and
the model's answer — whatever size it comes back at — is resized to the crop size after it.
"""

from __future__ import annotations

import cv2
import numpy as np


def model_size(width: int, height: int, min_side: int = 512, max_side: int = 1024,
               multiple_of: int = 16) -> tuple[int, int]:
    """The ``(width, height)`` to send: shortest side ≥ ``min_side``, longest ≤ ``max_side``."""
    scale = max(min_side / min(width, height), 1.0)
    scale = min(scale, max_side / max(width, height)) if max(width, height) * scale > max_side else scale
    m = max(int(multiple_of), 1)
    return (max(m, int(round(width * scale / m)) * m), max(m, int(round(height * scale / m)) * m))


def to_model_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` (cubic when enlarging, area when shrinking)."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    enlarge = size[0] * size[1] > image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC if enlarge else cv2.INTER_AREA)


def back_to_crop(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The model's answer at the crop's size and channel count (alpha taken from ``like``)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    image = to_model_size(np.ascontiguousarray(image[..., :3]), (like.shape[1], like.shape[0]))
    if like.ndim == 3 and like.shape[2] == 4:
        image = np.dstack([image, like[..., 3]])
    return image
