"""Small synthetic inspection data: aligned good ROIs of a part, and defective copies with known masks."""

from __future__ import annotations

import cv2
import numpy as np


def good_roi(rng: np.random.Generator, h: int = 40, w: int = 56) -> np.ndarray:
    """A chip-like part: a dark body between two tinned pads on a green board, jittered by ±1 px."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (30, 110, 50)
    dx, dy = rng.integers(-1, 2, 2)
    cv2.rectangle(img, (6 + dx, 8 + dy), (16 + dx, h - 9 + dy), (200, 200, 205), -1)
    cv2.rectangle(img, (w - 17 + dx, 8 + dy), (w - 7 + dx, h - 9 + dy), (200, 200, 205), -1)
    cv2.rectangle(img, (14 + dx, 11 + dy), (w - 15 + dx, h - 12 + dy), (40, 35, 30), -1)
    noise = rng.normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def add_defect(image: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A defective copy and its 0/255 mask: a bright scratch or a dark blob at a random spot."""
    out = image.copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    h, w = mask.shape
    cx, cy = int(rng.integers(12, w - 12)), int(rng.integers(10, h - 10))
    if kind == "scratch":
        cv2.line(mask, (cx - 8, cy - 3), (cx + 8, cy + 3), 255, 2)
        out[mask > 0] = (235, 235, 120)
    else:
        cv2.circle(mask, (cx, cy), 4, 255, -1)
        out[mask > 0] = (120, 60, 20)
    return out, mask
