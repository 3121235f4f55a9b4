"""Synthetic PCBA ROIs (a part with metal terminations on a textured board) and edge checks.

Shared by the imaging, backend and pipeline tests of the restyle stage: the part's outline
is exactly the ``cad_mask``'s, so "is the output still aligned with its mask" is a number.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from sdg_factory.pcb.roi import Roi

PART_COLOUR = (25, 82, 140, 255)


def synthetic_roi(index: int, size: tuple[int, int] = (64, 80), background_red: int | None = None,
                  material: str = "passive_component", cell: str = "x0_y0") -> Roi:
    """ROI ``index``: board green (red channel = ``background_red``), a beige body, metal ends."""
    h, w = size
    rng = np.random.default_rng(index)
    red = 30 + 20 * index if background_red is None else background_red
    img = np.zeros((h, w, 4), np.uint8)
    img[..., :3] = (red, 110, 60)
    img[..., 3] = 255
    texture = rng.integers(0, 4, (h, w, 1), dtype=np.uint8)
    img[4:-4, 4:-4, :3] = np.clip(img[4:-4, 4:-4, :3].astype(int) + texture[4:-4, 4:-4], 0, 255)
    x0, y0, x1, y1 = 18 + index % 3, 17 + index % 4, w - 20, h - 18
    cv2.rectangle(img, (x0, y0), (x1, y1), (205, 190, 150, 255), -1)           # body
    cv2.rectangle(img, (x0, y0), (x0 + 8, y1), (215, 215, 220, 255), -1)       # metal terminations
    cv2.rectangle(img, (x1 - 8, y0), (x1, y1), (215, 215, 220, 255), -1)
    mask = np.zeros((h, w, 4), np.uint8)
    cv2.rectangle(mask, (x0, y0), (x1, y1), PART_COLOUR, -1)
    return Roi(material=material, cell=cell, stem=f"{index:04d}", normal_img=img, cad_mask=mask,
               class_name="capacitor", bbox_xyxy=(0, 0, w - 1, h - 1))


def roi_loaders(rois: list[Roi]) -> dict:
    """What the ``roi_crops`` catalog entry loads: ``{"<MAT>/<cell>/<NNNN>": loader}``."""
    return {roi.partition_id: functools.partial(_same, roi) for roi in rois}


def _same(roi: Roi) -> Roi:
    return roi


def mask_outline(cad_mask: np.ndarray) -> np.ndarray:
    """Pixels where the colourised ``cad_mask`` changes class (the parts' outlines)."""
    _, labels = np.unique(cad_mask.reshape(-1, cad_mask.shape[-1]), axis=0, return_inverse=True)
    labels = labels.reshape(cad_mask.shape[:2]).astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    return cv2.dilate(labels, kernel) != cv2.erode(labels, kernel)


def mask_edge_agreement(image: np.ndarray, cad_mask: np.ndarray, tolerance_px: int = 1) -> float:
    """Fraction of the mask outline that has an image edge within ``tolerance_px``."""
    outline = mask_outline(cad_mask)
    gray = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 30, 90) > 0
    k = 2 * tolerance_px + 1
    near = cv2.dilate(edges.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return float((near & outline).sum() / max(outline.sum(), 1))


def edge_f1(a: np.ndarray, b: np.ndarray, tolerance_px: int = 1) -> float:
    """F1 of the Canny edge maps of two images, with a matching tolerance."""
    def edges(x):
        gray = cv2.cvtColor(np.ascontiguousarray(x[..., :3]), cv2.COLOR_RGB2GRAY)
        return cv2.Canny(cv2.GaussianBlur(gray, (3, 3), 0), 30, 90) > 0

    ea, eb = edges(a), edges(b)
    k = np.ones((2 * tolerance_px + 1,) * 2, np.uint8)
    precision = (ea & (cv2.dilate(eb.astype(np.uint8), k) > 0)).sum() / max(ea.sum(), 1)
    recall = (eb & (cv2.dilate(ea.astype(np.uint8), k) > 0)).sum() / max(eb.sum(), 1)
    return float(2 * precision * recall / max(precision + recall, 1e-9))
