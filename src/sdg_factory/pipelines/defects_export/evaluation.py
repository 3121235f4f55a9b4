"""Evaluation node of ``defects_export``: maps and exported defects against ground-truth masks.

Metrics (JSON): image AUROC (defect images vs held-out good ROIs, on image scores), pixel
AUROC and AUPRO (FPR ≤ ``aupro_fpr_limit``) over every pixel of both, and at the resolved
pixel threshold: mean IoU of the exported masks and region recall (a ground-truth region is
found when the exported mask covers ≥ ``region_min_coverage`` of it), overall and per defect
type, plus how many good ROIs got any region.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from sdg_factory.defects import extract_defects
from sdg_factory.defects.metrics import (
    area_under,
    auroc,
    mask_iou,
    pixel_curves,
    pro_area,
    region_hits,
    roc_curve,
)
from sdg_factory.pipelines.defects_export.report import metrics_figure


def label_id(record: dict[str, Any]) -> str:
    """The image id (``MAT/cell__stem__defect``) of an ``anomaly/labels.jsonl`` record."""
    image = record.get("image")
    if image:
        parts = posixpath.splitext(str(image).replace("\\", "/"))[0].split("/")
        return "/".join(parts[-2:])
    return f"{record['material']}/{record['cell']}__{record['stem']}__{record['defect_type']}"


def _gt_on_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.shape != shape:   # into the anomaly-map grid (the document's coordinate space)
        mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)
    return mask > 0


def evaluate_defects(defect_maps: dict[str, Callable], good_maps: dict[str, Callable],
                     anomaly_masks: dict[str, Callable], anomaly_labels: list[dict], image_scores: list[dict],
                     thresholds: dict[str, Any], settings: dict[str, Any], params: dict[str, Any]
                     ) -> tuple[dict[str, Any], Any]:
    fpr_limit = float(params.get("aupro_fpr_limit", 0.3))
    min_cov = float(params.get("region_min_coverage", 0.1))
    types = {label_id(r): str(r.get("defect_type", "unknown")) for r in anomaly_labels}
    extract = {k: settings[k] for k in ("roi_xyxy_norm", "open_ksize", "close_ksize", "fill_holes",
                                        "min_area", "max_regions")}
    thr = thresholds["pixel_threshold"]

    maps, gts, per_type = [], [], {}
    for pid in sorted(defect_maps):
        if pid not in anomaly_masks:
            raise ValueError(f"defects_export evaluation: no ground-truth mask for defect image '{pid}' "
                             "in 'anomaly_masks' (anomaly/masks/<same id>.png)")
        amap = defect_maps[pid]()
        gt = _gt_on_grid(anomaly_masks[pid](), amap.shape)
        pred = extract_defects(amap, pixel_threshold=thr, **extract)["mask"]
        found, total = region_hits(gt, pred, min_cov)
        row = per_type.setdefault(types.get(pid, "unknown"), {"images": 0, "regions": 0, "found": 0, "iou": []})
        row["images"] += 1
        row["regions"] += total
        row["found"] += found
        iou = mask_iou(gt, pred)
        if iou is not None:
            row["iou"].append(iou)
        maps.append(amap)
        gts.append(gt)
    good_with_regions = 0
    for pid in sorted(good_maps):
        amap = good_maps[pid]()
        good_with_regions += bool(extract_defects(amap, pixel_threshold=thr, **extract)["regions"])
        maps.append(amap)
        gts.append(np.zeros(amap.shape, bool))

    scored = [r for r in image_scores if r["score"] is not None]
    img_scores = np.array([r["score"] for r in scored], dtype=np.float64)
    img_labels = np.array([r["kind"] == "defect" for r in scored])
    pixel = pixel_curves(maps, gts)   # pixel ROC and PRO from one sort of every pixel

    def recall(found: int, total: int) -> float | None:
        return found / total if total else None

    metrics = {
        "image_auroc": auroc(img_scores, img_labels),
        "pixel_auroc": area_under(pixel["roc"]),
        "aupro": pro_area(pixel["pro"], fpr_limit),
        "aupro_fpr_limit": fpr_limit,
        "pixel_threshold": thr,
        "pixel_threshold_provenance": thresholds["pixel_threshold_provenance"],
        "region_min_coverage": min_cov,
        "region_recall": recall(sum(r["found"] for r in per_type.values()),
                                sum(r["regions"] for r in per_type.values())),
        "mean_iou": _mean([v for r in per_type.values() for v in r["iou"]]),
        "per_defect_type": {
            t: {"images": r["images"], "regions": r["regions"], "regions_found": r["found"],
                "region_recall": recall(r["found"], r["regions"]), "mean_iou": _mean(r["iou"])}
            for t, r in sorted(per_type.items())
        },
        "defect_images": len(defect_maps),
        "good_images": len(good_maps),
        "good_images_with_regions": good_with_regions,
    }
    curves = {
        "image_roc": roc_curve(img_scores, img_labels) if metrics["image_auroc"] is not None else None,
        "pixel_roc": pixel["roc"],
        "pro": pixel["pro"],
    }
    return metrics, metrics_figure(metrics, curves)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
