"""Evaluation metrics against brute-force / hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.defects.metrics import aupro, auroc, mask_iou, partial_area, pro_curve, region_hits


def _pairwise_auroc(scores, labels) -> float:
    pos, neg = scores[labels], scores[~labels]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_pairwise_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 200).astype(float)       # many ties
    labels = rng.random(200) < 0.3 + 0.1 * (scores > 3)
    assert auroc(scores, labels) == pytest.approx(_pairwise_auroc(scores, labels))


def test_auroc_edge_cases():
    assert auroc([1, 2, 3], [0, 0, 0]) is None
    assert auroc([0.1, 0.9], [0, 1]) == 1.0
    assert auroc([np.nan, 0.5], [1, 0]) == 0.0        # NaN is the lowest score


def test_pro_curve_by_hand():
    # one image, two 8-separated ground-truth regions: A (2 px) and B (1 px), and 5 normal pixels
    gt = np.array([[1, 1, 0, 0], [0, 0, 0, 1]], np.uint8)
    amap = np.array([[0.9, 0.2, 0.8, 0.05], [0.1, 0.3, 0.04, 0.7]], np.float32)
    fpr, pro = pro_curve([amap], [gt])
    # thresholds 0.9 (A) 0.8 (n) 0.7 (B) 0.3 (n) 0.2 (A) 0.1 0.05 0.04 (n)
    np.testing.assert_allclose(fpr, [0, 0, 0.2, 0.2, 0.4, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(pro, [0, 0.25, 0.25, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0])
    # up to FPR 0.3: 0.2 at PRO 0.25, then 0.1 at PRO 0.75
    assert partial_area(fpr, pro, 0.3) == pytest.approx(0.2 * 0.25 + 0.1 * 0.75)
    assert aupro([amap], [gt], 0.3) == pytest.approx((0.2 * 0.25 + 0.1 * 0.75) / 0.3)


def test_aupro_perfect_and_missing():
    gt = np.zeros((8, 8), np.uint8)
    gt[2:4, 2:5] = 1
    assert aupro([gt.astype(np.float32)], [gt]) == pytest.approx(1.0)
    assert aupro([np.zeros((4, 4))], [np.zeros((4, 4))]) is None


def test_region_hits_and_iou():
    gt = np.zeros((10, 10), np.uint8)
    gt[1:3, 1:6] = 255          # 10 px
    gt[6:9, 6:9] = 255          # 9 px
    pred = np.zeros_like(gt)
    pred[1:3, 1:2] = 255        # covers 2/10 of the first region
    pred[6, 6] = 255            # covers 1/9 of the second
    assert region_hits(gt, pred, 0.15) == (1, 2)
    assert region_hits(gt, pred, 0.0) == (2, 2)
    assert mask_iou(gt, pred) == pytest.approx(3 / 19)
    assert mask_iou(np.zeros((2, 2)), np.zeros((2, 2))) is None
