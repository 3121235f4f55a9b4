"""``pixel_curves`` (one sort of every pixel) gives the bits of the four sorts it replaced (issue 18).

The reference below is ``defects_export``'s evaluation as it was: pixel AUROC, AUPRO, and the
figure's pixel ROC and PRO curves, each sorting every pixel again.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from sdg_factory.defects.metrics import EIGHT, area_under, descending_order, partial_area, pixel_curves


# --- the code as it was -------------------------------------------------------------------------
def _ref_scores(values):
    values = np.asarray(values, dtype=np.float64).ravel()
    return np.where(np.isfinite(values) | (values == np.inf), values, -np.inf)


def _ref_curve(scores, pos_weight, neg_weight):
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]
    neg = np.r_[0.0, np.cumsum(neg_weight[order])[last]]
    pos = np.r_[0.0, np.cumsum(pos_weight[order])[last]]
    return neg, pos


def _ref_roc_curve(scores, labels):
    s = _ref_scores(np.asarray(scores))
    y = np.asarray(labels).ravel().astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    fp, tp = _ref_curve(s, y.astype(np.float64), (~y).astype(np.float64))
    return fp / n_neg, tp / n_pos


def _ref_auroc(scores, labels):
    y = np.asarray(labels).ravel().astype(bool)
    if y.all() or not y.any():
        return None
    fpr, tpr = _ref_roc_curve(scores, y)
    return float(np.trapezoid(tpr, fpr))


def _ref_pro_curve(maps, gt_masks):
    scores, pos_w, neg_w = [], [], []
    regions = [ndimage.label(np.asarray(gt) > 0, structure=EIGHT) for gt in gt_masks]
    n_regions = sum(n for _, n in regions)
    n_normal = sum(int((lab == 0).sum()) for lab, _ in regions)
    if n_regions == 0 or n_normal == 0:
        raise ValueError("no regions")
    for amap, (lab, n) in zip(maps, regions, strict=False):
        area = np.bincount(lab.ravel(), minlength=n + 1).astype(np.float64)
        per_pixel = np.where(lab.ravel() > 0, 1.0 / (area[lab.ravel()] * n_regions), 0.0)
        scores.append(_ref_scores(np.asarray(amap)))
        pos_w.append(per_pixel)
        neg_w.append((lab.ravel() == 0) / n_normal)
    return _ref_curve(np.concatenate(scores), np.concatenate(pos_w), np.concatenate(neg_w))


def _ref_aupro(maps, gt_masks, fpr_limit):
    try:
        fpr, pro = _ref_pro_curve(maps, gt_masks)
    except ValueError:
        return None
    return float(partial_area(fpr, pro, fpr_limit) / fpr_limit)


def _reference(maps, gts, fpr_limit=0.3):
    pix_scores = np.concatenate([m.ravel() for m in maps])
    pix_labels = np.concatenate([g.ravel() for g in gts])
    pixel_auroc = _ref_auroc(pix_scores, pix_labels)
    aupro = _ref_aupro(maps, gts, fpr_limit)
    return {"pixel_auroc": pixel_auroc, "aupro": aupro,
            "roc": _ref_roc_curve(pix_scores, pix_labels) if pixel_auroc is not None else None,
            "pro": _ref_pro_curve(maps, gts) if aupro is not None else None}


def _new(maps, gts, fpr_limit=0.3):
    curves = pixel_curves(maps, gts)
    aupro = None if curves["pro"] is None else float(partial_area(*curves["pro"], fpr_limit) / fpr_limit)
    return {"pixel_auroc": area_under(curves["roc"]), "aupro": aupro, **curves}


def _same_bits(a, b):
    assert (a is None) == (b is None)
    if a is None:
        return
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _case(seed, n_maps=5, shape=(24, 32), levels=None, dtype=np.float32, special=False):
    rng = np.random.default_rng(seed)
    maps, gts = [], []
    for k in range(n_maps):
        gt = np.zeros(shape, bool)
        if k % 3 != 2:   # some maps are good ROIs (no region)
            for _ in range(int(rng.integers(1, 4))):
                y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 6)
                gt[y:y + int(rng.integers(1, 5)), x:x + int(rng.integers(1, 7))] = True
        amap = rng.random(shape) + 0.6 * gt
        if levels:   # many ties: a few distinct scores
            amap = np.round(amap * levels) / levels
        amap = amap.astype(dtype)
        if special:
            flat = amap.reshape(-1)
            flat[rng.integers(0, flat.size, 6)] = np.nan
            flat[rng.integers(0, flat.size, 3)] = np.inf
            flat[rng.integers(0, flat.size, 3)] = -np.inf
        maps.append(amap)
        gts.append(gt)
    return maps, gts


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["random", "ties", "special", "float64", "large"])
def test_pixel_curves_give_the_bits_of_the_four_sorts(seed, kind):
    # "large": past descending_order's radix threshold (76,800 pixels), with ties, NaN, inf and -0.0
    maps, gts = _case(seed, shape=(160, 96) if kind == "large" else (24, 32),
                      levels={"ties": 7, "large": 40}.get(kind), special=kind in ("special", "large"),
                      dtype=np.float64 if kind == "float64" else np.float32)
    if kind == "large":
        maps[0][:4] = -0.0
    before, after = _reference(maps, gts), _new(maps, gts)
    assert before["pixel_auroc"] is not None and before["aupro"] is not None
    assert before["pixel_auroc"] == after["pixel_auroc"] and before["aupro"] == after["aupro"]
    _same_bits(before["roc"], after["roc"])
    _same_bits(before["pro"], after["pro"])
    if kind == "ties":   # ties really merged thresholds
        assert before["roc"][0].size < sum(m.size for m in maps) // 10


def test_pixel_curves_without_regions_or_without_normal_pixels():
    maps, gts = _case(0, n_maps=3)
    empty = [np.zeros_like(g) for g in gts]
    assert _reference(maps, empty) == _new(maps, empty) == {"pixel_auroc": None, "aupro": None, "roc": None,
                                                            "pro": None}
    full = [np.ones_like(g) for g in gts]
    assert _reference(maps, full) == _new(maps, full) == {"pixel_auroc": None, "aupro": None, "roc": None, "pro": None}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_descending_order_is_the_stable_argsort(dtype):
    rng = np.random.default_rng(5)
    # many ties of both signs, then distinct values differing in every bit of the key
    values = np.r_[np.round(rng.normal(0, 3, 200_000), 1), rng.normal(0, 1, 100_000)].astype(dtype)
    values[rng.integers(0, values.size, 50)] = -0.0
    values[rng.integers(0, values.size, 50)] = 0.0
    values[rng.integers(0, values.size, 20)] = np.inf
    values[rng.integers(0, values.size, 20)] = -np.inf
    scores = values.astype(np.float64)
    expected = np.argsort(-scores, kind="stable")
    assert np.array_equal(descending_order(scores), expected)
    if dtype is np.float64:   # and float64 values that are not float32 ones
        scores = scores + rng.random(scores.size) * 1e-9
        assert np.array_equal(descending_order(scores), np.argsort(-scores, kind="stable"))
