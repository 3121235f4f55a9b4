"""Masks ↔ YOLO segmentation labels and COCO polygons.

A YOLO-seg label line is ``<class> x1 y1 x2 y2 …`` with coordinates normalised to [0, 1].
Every connected part of an object mask becomes its own polygon (an object seen through an
occluder, or with detached parts, keeps all of them), so a mask with three parts writes three
lines; the COCO record of the same object holds the three polygons in one annotation.
"""

from __future__ import annotations

import cv2
import numpy as np


def mask_polygons(mask: np.ndarray, min_area: float = 12.0, epsilon: float = 0.75) -> list[np.ndarray]:
    """One ``(N, 2)`` float polygon (pixel x, y) per connected part of ``mask`` (>0 = object).

    Parts smaller than ``min_area`` pixels are dropped; contours are simplified with
    Douglas-Peucker at ``epsilon`` pixels. Ordered largest part first.
    """
    binary = (np.asarray(mask) > 0).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    polygons = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True):
        if cv2.contourArea(contour) < min_area and len(contour) < 2 * min_area:
            continue
        simplified = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2)
        if len(simplified) < 3:
            continue
        polygons.append(simplified.astype(np.float64))
    return polygons


def yolo_label_lines(mask: np.ndarray, class_id: int = 0, **kwargs) -> list[str]:
    """The YOLO-seg lines of ``mask`` (one per part), coordinates normalised, 6 decimals."""
    h, w = mask.shape[:2]
    lines = []
    for poly in mask_polygons(mask, **kwargs):
        # a vertex at pixel index i covers [i, i+1): its far edge is at i + 1 for the last column
        norm = np.column_stack([np.clip(poly[:, 0] / w, 0, 1), np.clip(poly[:, 1] / h, 0, 1)])
        lines.append(f"{class_id} " + " ".join(f"{v:.6f}" for v in norm.ravel()))
    return lines


def parse_yolo_label(text: str) -> list[tuple[int, np.ndarray]]:
    """``[(class_id, (N, 2) normalised polygon)]`` of a YOLO-seg label file."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 7 or len(parts) % 2 == 0:
            raise ValueError(f"label line {number} is not a YOLO-seg polygon (class + ≥3 x,y pairs): {line!r}")
        out.append((int(parts[0]), np.asarray(parts[1:], np.float64).reshape(-1, 2)))
    return out


def rasterize_label(text: str, size: tuple[int, int], class_id: int | None = None) -> np.ndarray:
    """Fill the polygons of a YOLO-seg label into a ``uint8`` 0/255 mask of ``size`` = (h, w)."""
    h, w = size
    mask = np.zeros((h, w), np.uint8)
    for cls, poly in parse_yolo_label(text):
        if class_id is not None and cls != class_id:
            continue
        pts = np.round(poly * [w, h]).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255)
    return mask


def coco_segmentation(text: str, size: tuple[int, int]) -> tuple[list[list[float]], list[float], float]:
    """COCO ``segmentation`` (pixel polygons), ``bbox`` [x, y, w, h] and ``area`` of a label."""
    h, w = size
    polygons, points = [], []
    for _, poly in parse_yolo_label(text):
        pix = poly * [w, h]
        polygons.append([round(float(v), 2) for v in pix.ravel()])
        points.append(pix)
    if not points:
        return [], [0.0, 0.0, 0.0, 0.0], 0.0
    allp = np.concatenate(points)
    x0, y0 = allp.min(0)
    x1, y1 = allp.max(0)
    area = float(sum(abs(cv2.contourArea(p.astype(np.float32))) for p in points))
    return polygons, [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2),
                      round(float(y1 - y0), 2)], round(area, 2)
