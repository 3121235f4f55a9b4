"""Anomaly map → binary defect mask + regions (the document's ``defects`` block).

Rules, in the order they are applied (all in the anomaly-map grid):

1. **Threshold**: a pixel is defective when ``map >= pixel_threshold``.
2. **ROI** (optional, ``roi_xyxy_norm = [x1, y1, x2, y2]`` in ``[0, 1]``): the rectangle of
   columns ``[floor(x1·W), ceil(x2·W))`` and rows ``[floor(y1·H), ceil(y2·H))``. Pixels
   outside it are zeroed before the mask is made: they are background through every later
   step (for any threshold, also one ``<= 0``), and the final mask is clipped to the
   rectangle, so no region and no statistic includes them. ``map_stats_roi`` is computed over
   the rectangle. Image-level score and label are not this function's business and are not
   changed.
3. **Morphology**: opening with a ``open_ksize × open_ksize`` rectangle, then closing with a
   ``close_ksize × close_ksize`` rectangle (OpenCV ``morphologyEx``; 0 or 1 disables).
4. **Hole filling** (``fill_holes``): background pixels not 4-connected to the image border
   become defective (the dual of 8-connected foreground; same as ``scipy.ndimage``'s
   ``binary_fill_holes``).
5. **Regions**: 8-connected components. Regions with ``area < min_area`` are dropped.
6. **Order and cut**: regions sorted by ``score_max`` descending, ties by position (top-most,
   then left-most bounding box, then centroid), cut to the first ``max_regions``; ``id`` is
   the 1-based rank in that order. The returned mask holds exactly the pixels of the
   returned regions.

Each region: ``id``, ``bbox_xyxy`` (inclusive pixel bounds), ``area`` (pixels),
``centroid_xy`` (mean pixel coordinate), ``score_max`` and ``score_mean`` (of the map over the
region's pixels; pixels added by closing or hole filling count too).

**Non-finite values** (NaN, ±inf) are not scores: such a pixel is never defective by
threshold and is left out of every statistic (``map_stats_roi``, ``score_max``,
``score_mean``). It can still become part of a region through closing or hole filling (it
counts in ``area`` and ``centroid_xy``); a region, or a ROI, with no finite pixel reports
``null`` statistics.

Region statistics are computed in one pass: the foreground pixels are gathered once and
every statistic is a ``bincount`` / ``ufunc.at`` accumulation over them — there is no
per-region scan of the image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np


def roi_rect(shape_hw: Sequence[int], roi_xyxy_norm: Sequence[float] | None) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` half-open pixel rectangle of a normalised ROI on an ``H×W`` grid.

    Columns ``[floor(x1·W), ceil(x2·W))``, rows ``[floor(y1·H), ceil(y2·H))``; ``None`` is the
    whole grid. Raises ``ValueError`` naming the fix for a malformed ROI.
    """
    h, w = int(shape_hw[0]), int(shape_hw[1])
    if roi_xyxy_norm is None:
        return 0, 0, w, h
    roi = check_roi(roi_xyxy_norm)
    x0, y0 = math.floor(roi[0] * w), math.floor(roi[1] * h)
    x1, y1 = math.ceil(roi[2] * w), math.ceil(roi[3] * h)
    return min(max(x0, 0), w), min(max(y0, 0), h), min(max(x1, 0), w), min(max(y1, 0), h)


def check_roi(roi_xyxy_norm: Sequence[float]) -> list[float]:
    """Validate ``[x1, y1, x2, y2]`` in ``[0, 1]`` with ``x1 <= x2`` and ``y1 <= y2``."""
    try:
        roi = [float(v) for v in roi_xyxy_norm]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"roi_xyxy_norm must be four numbers [x1, y1, x2, y2], got {roi_xyxy_norm!r}") from exc
    if len(roi) != 4 or not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in roi) \
            or roi[0] > roi[2] or roi[1] > roi[3]:
        raise ValueError(
            f"roi_xyxy_norm must be [x1, y1, x2, y2] with 0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1 "
            f"(fractions of the anomaly-map width and height), got {list(roi_xyxy_norm)!r}"
        )
    return roi


def _kernel(k: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))


def postprocess_mask(fg: np.ndarray, *, open_ksize: int = 0, close_ksize: int = 0,
                     fill_holes: bool = False) -> np.ndarray:
    """Opening, then closing (k×k rectangles), then hole filling, of a 0/1 ``uint8`` mask."""
    if open_ksize and int(open_ksize) > 1:
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, _kernel(int(open_ksize)))
    if close_ksize and int(close_ksize) > 1:
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, _kernel(int(close_ksize)))
    if fill_holes:
        fg = fill_mask_holes(fg)
    return fg


def fill_mask_holes(fg: np.ndarray) -> np.ndarray:
    """Fill background components of a 0/1 mask that are not 4-connected to the border."""
    padded = cv2.copyMakeBorder(fg, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(padded, None, (0, 0), 2, flags=4)
    return (padded[1:-1, 1:-1] != 2).view(np.uint8)


def _stats(values: np.ndarray) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"max": None, "mean": None}
    return {"max": float(finite.max()), "mean": float(finite.mean(dtype=np.float64))}


def extract_defects(
    anomaly_map: np.ndarray,
    *,
    pixel_threshold: float,
    roi_xyxy_norm: Sequence[float] | None = None,
    open_ksize: int = 0,
    close_ksize: int = 0,
    fill_holes: bool = False,
    min_area: int = 0,
    max_regions: int | None = None,
) -> dict[str, Any]:
    """The document's ``defects`` block (without the mask path) plus the binary ``mask``.

    Returns ``{"space", "pixel_threshold", "regions", "map_stats_roi", "mask"}`` where
    ``mask`` is an ``H×W`` ``uint8`` array of 0/255. See the module docstring for the rules.
    """
    amap = np.ascontiguousarray(anomaly_map, dtype=np.float32)
    if amap.ndim != 2 or amap.size == 0:
        raise ValueError(f"anomaly_map must be a non-empty 2-D (H, W) array, got shape {np.shape(anomaly_map)}")
    threshold = float(pixel_threshold)
    if not math.isfinite(threshold):
        raise ValueError(f"pixel_threshold must be a finite number, got {pixel_threshold!r}")
    if max_regions is not None and int(max_regions) < 0:
        raise ValueError(f"max_regions must be >= 0 or null (unlimited), got {max_regions!r}")
    h, w = amap.shape
    x0, y0, x1, y1 = roi_rect((h, w), roi_xyxy_norm)
    full = (x0, y0, x1, y1) == (0, 0, w, h)
    inside = amap[y0:y1, x0:x1]

    # map statistics over the ROI; a non-finite max/mean tells that the map holds NaN/inf
    if inside.size:
        mx, mean = float(inside.max()), float(cv2.mean(inside)[0])  # both propagate NaN/inf
        finite_map = math.isfinite(mx) and math.isfinite(mean)
        map_stats = {"max": mx, "mean": mean} if finite_map else _stats(inside)
    else:
        finite_map, map_stats = True, {"max": None, "mean": None}

    # 1-2: threshold, ROI
    if full:
        fg = (amap >= threshold).view(np.uint8)
    else:
        fg = np.zeros((h, w), np.uint8)
        np.greater_equal(inside, threshold, out=fg[y0:y1, x0:x1].view(bool))
    if not finite_map:
        fg &= np.isfinite(amap).view(np.uint8)
    # 3-4: morphology, holes; then clip to the ROI
    fg = postprocess_mask(fg, open_ksize=open_ksize, close_ksize=close_ksize, fill_holes=fill_holes)
    if not full:
        clipped = np.zeros_like(fg)
        clipped[y0:y1, x0:x1] = fg[y0:y1, x0:x1]
        fg = clipped

    # 5: 8-connected components and their statistics, in one pass over the foreground
    n, labels = cv2.connectedComponents(fg, connectivity=8, ltype=cv2.CV_32S)
    regions, dropped, boxes = _region_table(amap, fg, labels, n, finite_map, int(min_area), max_regions)
    mask = fg * np.uint8(255)
    _erase(mask, labels, dropped, boxes)
    return {
        "space": {"type": "anomaly_map", "shape": [int(h), int(w)]},
        "pixel_threshold": threshold,
        "regions": regions,
        "map_stats_roi": map_stats,
        "mask": mask,
    }


def defects_record(result: dict[str, Any], *, pixel_threshold_provenance: dict[str, Any], mask_path: str,
                   mask_format: str) -> dict[str, Any]:
    """The document's ``defects`` block of one JSONL line, from :func:`extract_defects`'s result
    and where its mask is written (``defects_export`` and ``defects_infer`` both write it)."""
    return {
        "space": result["space"],
        "pixel_threshold": result["pixel_threshold"],
        "pixel_threshold_provenance": pixel_threshold_provenance,
        "mask": {"path": mask_path, "shape": list(result["mask"].shape), "dtype": "uint8", "encoding": mask_format},
        "regions": result["regions"],
        "map_stats_roi": result["map_stats_roi"],
    }


def _erase(mask: np.ndarray, labels: np.ndarray, dropped: np.ndarray, boxes: np.ndarray) -> None:
    """Clear the pixels of dropped regions: inside their boxes when few, else by a lookup table."""
    if dropped.size == 0:
        return
    if dropped.size > 64:
        keep = np.full(int(labels.max()) + 1, 255, np.uint8)
        keep[0] = 0
        keep[dropped] = 0
        mask[...] = keep.take(labels)
        return
    for i, (x0, y0, x1, y1) in zip(dropped.tolist(), boxes[dropped].tolist(), strict=False):
        window = mask[y0:y1 + 1, x0:x1 + 1]
        window[labels[y0:y1 + 1, x0:x1 + 1] == i] = 0


def _region_table(amap: np.ndarray, fg: np.ndarray, labels: np.ndarray, n: int, finite_map: bool,
                  min_area: int, max_regions: int | None) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Regions (filtered, sorted, cut), the labels dropped, and every label's inclusive box."""
    if n <= 1:
        return [], np.empty(0, np.int64), np.empty((0, 4), np.int64)
    h, w = amap.shape
    idx = np.flatnonzero(fg.view(bool))            # foreground pixels, raster order
    lab = labels.ravel().take(idx)
    vals = amap.ravel().take(idx)
    ys, xs = np.divmod(idx, w)
    area = np.bincount(lab, minlength=n)
    cx = np.bincount(lab, xs, minlength=n) / np.maximum(area, 1)
    cy = np.bincount(lab, ys, minlength=n) / np.maximum(area, 1)
    boxes = np.empty((n, 4), np.int64)              # x_min, y_min, x_max, y_max
    boxes[:, :2] = (w, h)
    boxes[:, 2:] = -1
    np.minimum.at(boxes[:, 0], lab, xs)
    np.minimum.at(boxes[:, 1], lab, ys)
    np.maximum.at(boxes[:, 2], lab, xs)
    np.maximum.at(boxes[:, 3], lab, ys)
    if not finite_map:                              # statistics over finite pixels only
        ok = np.isfinite(vals)
        lab, vals = lab[ok], vals[ok]
        count = np.bincount(lab, minlength=n)
    else:
        count = area
    total = np.bincount(lab, vals, minlength=n)
    smax = np.full(n, -np.inf, np.float32)
    np.maximum.at(smax, lab, vals)

    ids = np.arange(1, n)
    if min_area > 0:
        ids = ids[area[1:] >= min_area]
    # 6: score_max descending (regions without a finite score last), ties by position
    key_max = np.where(count[ids] > 0, smax[ids], -np.inf)
    ids = ids[np.lexsort((cx[ids], cy[ids], boxes[ids, 0], boxes[ids, 1], -key_max))]
    if max_regions is not None and len(ids) > int(max_regions):
        ids = ids[: int(max_regions)]
    if len(ids) == n - 1:
        dropped = np.empty(0, np.int64)
    else:
        kept = np.zeros(n, bool)
        kept[ids] = True
        kept[0] = True
        dropped = np.flatnonzero(~kept)

    has = (count[ids] > 0).tolist()
    mean = (total[ids] / np.maximum(count[ids], 1)).tolist()
    regions = [
        {"id": rank, "bbox_xyxy": box, "area": a, "centroid_xy": [x, y],
         "score_max": m if ok else None, "score_mean": s if ok else None}
        for rank, (box, a, x, y, m, s, ok) in enumerate(zip(
            boxes[ids].tolist(), area[ids].tolist(), cx[ids].tolist(), cy[ids].tolist(),
            smax[ids].astype(np.float64).tolist(), mean, has, strict=False), start=1)
    ]
    return regions, dropped, boxes
