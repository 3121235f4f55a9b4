"""The raw PCBA defect data the texture pipeline reads: sub-mask shapes per defect type.

``raw/<MATERIAL>/mask/<defect>/NNNN.png`` holds binary sub-masks (0/255) that shape each
defect; ``raw/defect_spec.jsonl`` lists every (material, defect) with its spatial dependency:
``cad`` (placed from the CAD mask's classes), ``free`` (anywhere on the part) or ``text``.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.seeding import item_rng


def _blob(rng: np.random.Generator, size: int, elongation: float, roughness: float) -> np.ndarray:
    """A smooth random blob: a polygon of noisy radii, elongated along x."""
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radii = 1 + roughness * rng.standard_normal(24)
    radii = np.convolve(np.r_[radii[-2:], radii, radii[:2]], np.ones(5) / 5, "valid")
    rx, ry = size * 0.42, size * 0.42 / elongation
    pts = np.stack([size / 2 + rx * radii * np.cos(angles), size / 2 + ry * radii * np.sin(angles)], 1)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255)
    return mask


def _scratch(rng: np.random.Generator, size: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    t = np.linspace(0, 1, 32)
    bend = rng.uniform(-0.25, 0.25)
    x = size * (0.08 + 0.84 * t)
    y = size * (0.5 + bend * np.sin(np.pi * t) + rng.uniform(-0.15, 0.15) * (t - 0.5))
    cv2.polylines(mask, [np.round(np.stack([x, y], 1)).astype(np.int32)], False, 255,
                  thickness=max(1, size // 24))
    return mask


def submask(defect: str, size: int, seed: int, partition_id: str) -> np.ndarray:
    """One binary sub-mask (``uint8`` 0/255, ``size``²) shaped like ``defect``."""
    rng = item_rng(seed, partition_id)
    if defect == "bridge":
        return _blob(rng, size, elongation=3.5, roughness=0.08)
    if defect == "excess_solder":
        return _blob(rng, size, elongation=1.3, roughness=0.15)
    if defect == "missing":
        mask = np.zeros((size, size), np.uint8)
        m = int(size * rng.uniform(0.05, 0.12))
        mask[m : size - m, m : size - m] = 255
        return mask
    if defect == "scratch":
        return _scratch(rng, size)
    if defect == "discoloration":
        return cv2.GaussianBlur(_blob(rng, size, 1.1, 0.25), (0, 0), size / 24).__ge__(128).astype(np.uint8) * 255
    raise ValueError(f"unknown defect type {defect!r} in pcba_setup.raw_defects.defects (parameters_pcba.yml); "
                     "use bridge, excess_solder, missing, scratch or discoloration")
