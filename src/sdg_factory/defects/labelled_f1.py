"""Strategy ``labelled_f1``: the pixel threshold and ``min_area`` that maximise region F1 on labelled images.

Given anomaly maps of calibration images and their ground-truth boxes, every pair of a
candidate threshold and a candidate ``min_area`` is scored the way the evaluation scores the
exported defects: regions are extracted with the run's settings (ROI, opening, closing, hole
filling, ``max_regions``), matched one to one to the ground truth at IoU > ``iou_threshold``, and
the class-agnostic F1 is computed over all images. The best F1 wins; among ties, the smallest
``min_area``, then the middle of the tied thresholds (the value furthest from both edges of the
plateau). A ``min_area`` given explicitly is kept, and only the threshold is chosen.

Candidate thresholds: quantiles of the finite map values, spread over the upper half of all
pixels and over the positive pixels (maps that are zero almost everywhere — golden-template
maps — get their candidates where the signal is).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sdg_factory.defects.extract import extract_defects
from sdg_factory.defects.metrics import match_regions, prf, region_boxes_xyxy
from sdg_factory.defects.threshold import PixelThresholdError, ResolvedPixelThreshold

DEFAULT_MIN_AREAS = (0, 2, 4, 8, 16, 32, 64)


def threshold_candidates(maps: Sequence[np.ndarray], n: int = 64) -> np.ndarray:
    values = np.concatenate([np.asarray(m, np.float32).ravel() for m in maps])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0)
    upper = np.quantile(values, 1.0 - np.geomspace(0.5, 1e-6, n // 2))
    positive = values[values > 0]
    spread = np.quantile(positive, np.linspace(0.0, 0.999, n - n // 2)) if positive.size else np.empty(0)
    cands = np.unique(np.r_[upper, spread].astype(np.float64))
    return cands[cands > 0] if (cands > 0).any() else cands


def labelled_f1_threshold(
    maps: Sequence[np.ndarray],
    gt_boxes: Sequence[np.ndarray],
    *,
    settings: dict[str, Any],
    min_area: int | None = None,
    min_area_candidates: Sequence[int] = DEFAULT_MIN_AREAS,
    n_thresholds: int = 64,
    iou_threshold: float = 0.33,
    source: str = "calibration",
    label_source: str = "boxes",
) -> tuple[ResolvedPixelThreshold, int]:
    """``(ResolvedPixelThreshold(value, provenance), min_area)`` (see the module docstring).

    ``maps[i]`` and ``gt_boxes[i]`` (``(G, 4)`` pixel ``[x0, y0, x1, y1]``, exclusive ends) belong
    to the same image; ``settings`` holds the extraction settings (``roi_xyxy_norm``,
    ``open_ksize``, ``close_ksize``, ``fill_holes``, ``max_regions``).
    """
    maps = [np.asarray(m, np.float32) for m in maps]
    gts = [np.asarray(g, np.float64).reshape(-1, 4) for g in gt_boxes]
    n_gt = sum(len(g) for g in gts)
    if not maps or n_gt == 0:
        raise PixelThresholdError(
            f"labelled_f1 calibration on {source} found {len(maps)} labelled image(s) with {n_gt} ground-truth "
            "region(s); it needs at least one defect in boxes/ or masks/ (or give pixel_threshold explicitly)")
    areas = [int(min_area)] if min_area is not None else sorted({int(a) for a in min_area_candidates})
    cands = threshold_candidates(maps, n_thresholds)
    extract = {k: settings.get(k) for k in ("roi_xyxy_norm", "open_ksize", "close_ksize", "fill_holes")}
    max_regions = settings.get("max_regions")
    # scores[t, a] = (tp, n_pred)
    scores = np.zeros((len(cands), len(areas), 2), np.int64)
    for amap, gt in zip(maps, gts, strict=False):
        for t, thr in enumerate(cands):
            regions = extract_defects(amap, pixel_threshold=float(thr), min_area=0, max_regions=None,
                                      **{k: v for k, v in extract.items() if v is not None})["regions"]
            for a, area in enumerate(areas):
                kept = [r for r in regions if r["area"] >= area]
                if max_regions is not None:
                    kept = kept[: int(max_regions)]
                scores[t, a] += (len(match_regions(region_boxes_xyxy(kept), gt, iou_threshold)), len(kept))
    f1 = 2 * scores[..., 0] / np.maximum(scores[..., 1] + n_gt, 1)
    best = f1.max()
    a_best = next(a for a in range(len(areas)) if np.isclose(f1[:, a], best).any())
    tied = np.flatnonzero(np.isclose(f1[:, a_best], best))
    t_best = int(tied[len(tied) // 2])
    tp, n_pred = (int(v) for v in scores[t_best, a_best])
    value = float(cands[t_best])
    provenance = {
        "method": "labelled_f1",
        "source": source,
        "label_source": label_source,
        "iou_threshold": float(iou_threshold),
        "calibration_image_count": len(maps),
        "gt_region_count": int(n_gt),
        "threshold_candidate_count": int(len(cands)),
        "min_area_candidates": areas,
        "min_area": int(areas[a_best]),
        "min_area_source": "explicit" if min_area is not None else "labelled_f1",
        **{k: v for k, v in prf(tp, n_pred, n_gt).items()},
        "roi_xyxy_norm": None if settings.get("roi_xyxy_norm") is None else list(settings["roi_xyxy_norm"]),
    }
    return ResolvedPixelThreshold(value, provenance), int(areas[a_best])
