"""Evaluation of anomaly maps and exported defects against ground-truth defect masks.

- ``roc_curve`` / ``auroc``: ROC over scores with ties handled as one threshold (image AUROC
  on image scores, pixel AUROC on every map pixel).
- ``pro_curve`` / ``aupro``: the per-region-overlap curve of MVTec AD — for each threshold,
  the mean over ground-truth regions (8-connected) of the fraction of the region detected,
  against the false-positive rate on normal pixels — integrated up to ``fpr_limit`` (0.3) and
  divided by it, so 1.0 is perfect.
- ``region_hits``: which ground-truth regions an exported mask finds (covered fraction ≥
  ``min_coverage``), and ``mask_iou`` (the project's one, ``imaging/masks.py``: ``None`` when
  both masks are empty).

Non-finite map values count as the lowest score.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage

from sdg_factory.imaging.masks import mask_iou  # noqa: F401 - one mask IoU, read here with the other metrics

EIGHT = np.ones((3, 3), bool)


def _scores(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    return np.where(np.isfinite(values) | (values == np.inf), values, -np.inf)


def _thresholds(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The descending stable order of ``scores`` and the last sorted index of each distinct score."""
    order = descending_order(scores)
    s = scores[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]
    return order, last


def descending_order(scores: np.ndarray) -> np.ndarray:
    """``np.argsort(-scores, kind="stable")``; when every score is a float32 value (anomaly maps
    are), the same permutation from two stable radix passes over 16-bit halves of an
    order-preserving integer key, which is faster than a comparison sort of millions of floats."""
    scores = np.asarray(scores, np.float64)
    if scores.size < 1 << 16:
        return np.argsort(-scores, kind="stable")
    narrow = scores.astype(np.float32)
    if not np.array_equal(narrow, scores):   # not float32 values, or NaN
        return np.argsort(-scores, kind="stable")
    bits = (narrow + np.float32(0.0)).view(np.uint32)   # -0.0 becomes +0.0: equal scores stay tied
    ascending = np.where(bits >> 31 != 0, ~bits, bits | np.uint32(0x80000000))
    key = ~ascending   # descending scores = ascending keys
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((key[order] >> 16).astype(np.uint16), kind="stable")]


def _cumulative(weight: np.ndarray, order: np.ndarray, last: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(weight[order])[last]]


def _curve(scores: np.ndarray, pos_weight: np.ndarray, neg_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (negative, positive) weights above each distinct threshold, from (0, 0)."""
    order, last = _thresholds(scores)
    return _cumulative(neg_weight, order, last), _cumulative(pos_weight, order, last)


def roc_curve(scores: Sequence[float] | np.ndarray,
              labels: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(fpr, tpr)`` at every distinct threshold (``score >= t`` is positive), from (0, 0) to (1, 1)."""
    s = _scores(np.asarray(scores))
    y = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"ROC needs positives and negatives, got {n_pos} positive and {n_neg} negative")
    fp, tp = _curve(s, y.astype(np.float64), (~y).astype(np.float64))
    return fp / n_neg, tp / n_pos


def auroc(scores, labels) -> float | None:
    """Area under the ROC curve; ``None`` when one class is missing."""
    y = np.asarray(labels).ravel().astype(bool)
    if y.all() or not y.any():
        return None
    return area_under(roc_curve(scores, y))


def pro_curve(maps: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(fpr, pro)`` over distinct thresholds for maps and their ground-truth masks (any > 0)."""
    scores, pos_w, neg_w = _pro_weights(maps, gt_masks)
    return _curve(scores, pos_w, neg_w)


def _pro_weights(maps: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pixel's score, its PRO weight (1 / (its region's area × regions)) and its FPR weight."""
    pos_w, neg_w = _region_weights(maps, gt_masks)
    return np.concatenate([_scores(np.asarray(m)) for m in maps]), pos_w, neg_w


def _region_weights(maps: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's PRO weight and FPR weight (see :func:`_pro_weights`)."""
    pos_w, neg_w = [], []
    regions = [ndimage.label(np.asarray(gt) > 0, structure=EIGHT) for gt in gt_masks]
    n_regions = sum(n for _, n in regions)
    n_normal = sum(int((lab == 0).sum()) for lab, _ in regions)
    if n_regions == 0 or n_normal == 0:
        raise ValueError("the PRO curve needs at least one ground-truth region and one normal pixel")
    for amap, (lab, n) in zip(maps, regions, strict=False):
        if np.shape(amap) != lab.shape:
            raise ValueError(f"map shape {np.shape(amap)} differs from its ground-truth mask {lab.shape}")
        area = np.bincount(lab.ravel(), minlength=n + 1).astype(np.float64)
        pos_w.append(np.where(lab.ravel() > 0, 1.0 / (area[lab.ravel()] * n_regions), 0.0))
        neg_w.append((lab.ravel() == 0) / n_normal)
    return np.concatenate(pos_w), np.concatenate(neg_w)


def aupro(maps: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray], fpr_limit: float = 0.3) -> float | None:
    """Area under the PRO curve for FPR in ``[0, fpr_limit]``, divided by ``fpr_limit``."""
    try:
        curve = pro_curve(maps, gt_masks)
    except ValueError:
        return None
    return pro_area(curve, fpr_limit)


def pixel_curves(maps: Sequence[np.ndarray], gt_masks: Sequence[np.ndarray]) -> dict[str, tuple | None]:
    """The pixel ROC and the PRO curve of ``maps`` against ``gt_masks`` with one sort of the pixels.

    ``{"roc": (fpr, tpr), "pro": (fpr, pro)}``: the arrays of ``roc_curve`` over every pixel of
    the maps (in order) and of ``pro_curve``, bit for bit (the same stable order, the same
    cumulative sums); ``None`` for a curve that ``auroc`` / ``aupro`` would give ``None`` for.
    """
    labels = np.concatenate([(np.asarray(gt) > 0).ravel() for gt in gt_masks]) if len(gt_masks) else np.zeros(0, bool)
    n_pos, n_neg = int(labels.sum()), int(labels.size - labels.sum())
    scores = np.concatenate([_scores(np.asarray(m)) for m in maps]) if len(maps) else np.zeros(0)
    with ThreadPoolExecutor(1) as sorting:  # the sort (numpy, without the GIL) beside the weights
        ranking = sorting.submit(_thresholds, scores)
        try:
            pos_w, neg_w = _region_weights(maps, gt_masks)
        except ValueError:
            pos_w = None
            if n_pos == 0 or n_neg == 0:
                ranking.cancel()
                return {"roc": None, "pro": None}
        order, last = ranking.result()
    curves: dict[str, tuple | None] = {"roc": None, "pro": None}
    ranked = labels[order]                                   # defect pixel or not, best score first
    tp = np.cumsum(ranked, dtype=np.int64)[last]              # integer counts: the float sums, exactly
    if n_pos and n_neg:
        fp = (last + 1) - tp
        curves["roc"] = (np.r_[0.0, fp] / n_neg, np.r_[0.0, tp] / n_pos)
    if pos_w is not None:
        # the running sums of _cumulative without gathering 8-byte weights for every pixel: a
        # normal pixel's FPR weight is one value, and a PRO weight is 0.0 off the defect pixels,
        # where adding it leaves a running sum's bits as they are
        normal = neg_w[np.argmin(labels)] if n_neg else 0.0
        fpr = np.r_[0.0, np.cumsum(np.where(ranked, 0.0, normal))[last]]
        defect_sums = np.cumsum(pos_w[order[np.flatnonzero(ranked)]])
        curves["pro"] = (fpr, np.r_[0.0, np.where(tp > 0, defect_sums[tp - 1], 0.0)])  # (a region: n_pos > 0)
    return curves


def area_under(curve: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    """``auroc``'s area of a ``(fpr, tpr)`` curve (``None`` for none)."""
    return None if curve is None else float(np.trapezoid(curve[1], curve[0]))


def pro_area(curve: tuple[np.ndarray, np.ndarray] | None, fpr_limit: float) -> float | None:
    """``aupro``'s area of a ``(fpr, pro)`` curve up to ``fpr_limit``, over it (``None`` for none)."""
    return None if curve is None else float(partial_area(*curve, fpr_limit) / fpr_limit)


def partial_area(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoid area under ``y(x)`` (``x`` ascending) for ``x`` in ``[0, limit]``, interpolated at the limit."""
    keep = x <= limit
    xs, ys = x[keep], y[keep]
    if xs[-1] < limit and keep.sum() < x.size:
        i = int(keep.sum())
        y_lim = ys[-1] + (y[i] - ys[-1]) * (limit - xs[-1]) / (x[i] - xs[-1]) if x[i] > xs[-1] else y[i]
        xs, ys = np.r_[xs, limit], np.r_[ys, y_lim]
    return float(np.trapezoid(ys, xs))


def region_hits(gt_mask: np.ndarray, pred_mask: np.ndarray, min_coverage: float = 0.1) -> tuple[int, int]:
    """``(found, total)`` ground-truth regions (8-connected) covered ≥ ``min_coverage`` by the mask."""
    lab, n = ndimage.label(np.asarray(gt_mask) > 0, structure=EIGHT)
    if n == 0:
        return 0, 0
    area = np.bincount(lab.ravel(), minlength=n + 1)
    covered = np.bincount(lab.ravel(), weights=(np.asarray(pred_mask) > 0).ravel(), minlength=n + 1)
    found = int(((covered[1:] / area[1:]) >= min_coverage).sum() if min_coverage > 0 else (covered[1:] > 0).sum())
    return found, int(n)


# --- region detection at an IoU threshold (predicted regions vs ground-truth boxes) ----------
def box_iou_matrix(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of every ``pred`` box with every ``gt`` box; boxes are ``[x0, y0, x1, y1]`` (x1, y1 exclusive)."""
    pred = np.asarray(pred, np.float64).reshape(-1, 4)
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(pred[:, None, 2], gt[None, :, 2]) - np.maximum(pred[:, None, 0], gt[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(pred[:, None, 3], gt[None, :, 3]) - np.maximum(pred[:, None, 1], gt[None, :, 1]), 0, None)
    inter = ix * iy
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_g = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    union = area_p[:, None] + area_g[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_regions(pred: np.ndarray, gt: np.ndarray, iou_min: float = 0.33) -> list[tuple[int, int]]:
    """One-to-one ``(pred index, gt index)`` matches with IoU > ``iou_min``, greedily by IoU."""
    iou = box_iou_matrix(pred, gt)
    if iou.size == 0:
        return []
    pairs = np.argwhere(iou > iou_min)
    order = np.argsort(-iou[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_p, used_g, out = set(), set(), []
    for p, g in pairs[order].tolist():
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            out.append((p, g))
    return out


def prf(tp: int, n_pred: int, n_gt: int) -> dict[str, float | int | None]:
    """Precision, recall and F1 from counts (``None`` where undefined)."""
    precision = tp / n_pred if n_pred else None
    recall = tp / n_gt if n_gt else None
    if n_pred == 0 and n_gt == 0:
        f1 = None
    else:
        f1 = 2 * tp / (n_pred + n_gt)
    return {"tp": int(tp), "fp": int(n_pred - tp), "fn": int(n_gt - tp), "precision": precision, "recall": recall,
            "f1": f1}


def region_detection(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], iou_min: float = 0.33,
                     class_names: Sequence[str] | None = None) -> dict:
    """Class-agnostic and per-class region precision / recall / F1 over images.

    ``items``: per image ``(pred_boxes (P, 4), gt_boxes (G, 4), gt_classes (G,))``. Predictions
    carry no class: for class ``c``, a true positive is a prediction matched (class-agnostic
    matching) to a ground truth of class ``c``; its false positives are the predictions matched
    to nothing (a prediction matched to another class's defect is not a false alarm for ``c``).
    """
    tp = n_pred = n_gt = 0
    per: dict[int, dict[str, int]] = {}
    unmatched_pred = 0
    for pred, gt, cls in items:
        pred = np.asarray(pred, np.float64).reshape(-1, 4)
        gt = np.asarray(gt, np.float64).reshape(-1, 4)
        cls = np.asarray(cls, np.int64).ravel()
        matches = match_regions(pred, gt, iou_min)
        tp += len(matches)
        n_pred += len(pred)
        n_gt += len(gt)
        unmatched_pred += len(pred) - len(matches)
        for c in cls.tolist():
            per.setdefault(c, {"tp": 0, "gt": 0})["gt"] += 1
        for _, g in matches:
            per[int(cls[g])]["tp"] += 1
    def name(c):
        return class_names[c] if class_names is not None and 0 <= c < len(class_names) else str(c)

    return {
        "iou_threshold": float(iou_min),
        **prf(tp, n_pred, n_gt),
        "per_class": {name(c): {"gt_regions": r["gt"], **prf(r["tp"], r["tp"] + unmatched_pred, r["gt"])}
                      for c, r in sorted(per.items())},
    }


def yolo_boxes_xyxy(boxes: Sequence[Sequence[float]], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """YOLO ``(class, cx, cy, w, h)`` (normalised) → pixel boxes ``[x0, y0, x1, y1]`` and classes."""
    b = np.asarray(boxes, np.float64).reshape(-1, 5)
    xyxy = np.stack([(b[:, 1] - b[:, 3] / 2) * width, (b[:, 2] - b[:, 4] / 2) * height,
                     (b[:, 1] + b[:, 3] / 2) * width, (b[:, 2] + b[:, 4] / 2) * height], axis=1)
    return xyxy, b[:, 0].astype(np.int64)


def mask_boxes_xyxy(mask: np.ndarray) -> np.ndarray:
    """Boxes ``[x0, y0, x1, y1]`` (x1, y1 exclusive) of the 8-connected regions of a mask."""
    lab, n = ndimage.label(np.asarray(mask) > 0, structure=EIGHT)
    if n == 0:
        return np.empty((0, 4))
    return np.array([[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in ndimage.find_objects(lab)], np.float64)


def region_boxes_xyxy(regions: Sequence[dict]) -> np.ndarray:
    """Boxes of exported regions (``bbox_xyxy`` inclusive) as ``[x0, y0, x1, y1]`` with x1, y1 exclusive."""
    return np.array([[r["bbox_xyxy"][0], r["bbox_xyxy"][1], r["bbox_xyxy"][2] + 1, r["bbox_xyxy"][3] + 1]
                     for r in regions], np.float64).reshape(-1, 4)
