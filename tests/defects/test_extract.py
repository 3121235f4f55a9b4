"""extract_defects: every rule, with region statistics checked against scipy.ndimage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from sdg_factory.defects import extract_defects, roi_rect

EIGHT = np.ones((3, 3), bool)


def _blobs(seed: int, size: int = 96, sigma: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    amap = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), sigma)
    return (amap - amap.min()) / (amap.max() - amap.min())


def _reference_regions(amap: np.ndarray, mask: np.ndarray) -> dict[tuple, dict]:
    """Regions of a binary mask by scipy.ndimage (independent of OpenCV and of our code)."""
    labels, n = ndimage.label(mask > 0, structure=EIGHT)
    index = np.arange(1, n + 1)
    out = {}
    areas = ndimage.sum_labels(np.ones_like(amap), labels, index)
    centres = ndimage.center_of_mass(np.ones_like(amap), labels, index)
    maxima = ndimage.maximum(amap, labels, index)
    means = ndimage.mean(amap.astype(np.float64), labels, index)
    for i, sl in enumerate(ndimage.find_objects(labels)):
        bbox = (sl[1].start, sl[0].start, sl[1].stop - 1, sl[0].stop - 1)
        out[bbox] = {"area": int(areas[i]), "centroid_xy": (centres[i][1], centres[i][0]),
                     "score_max": float(maxima[i]), "score_mean": float(means[i])}
    return out


def _check_against_ndimage(amap: np.ndarray, result: dict) -> None:
    ref = _reference_regions(amap, result["mask"])
    got = {tuple(r["bbox_xyxy"]): r for r in result["regions"]}
    assert set(got) == set(ref)
    for bbox, r in got.items():
        assert r["area"] == ref[bbox]["area"]
        assert r["centroid_xy"] == pytest.approx(ref[bbox]["centroid_xy"], abs=1e-9)
        assert r["score_max"] == pytest.approx(ref[bbox]["score_max"], abs=1e-7)
        assert r["score_mean"] == pytest.approx(ref[bbox]["score_mean"], abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kwargs", [
    {},
    {"open_ksize": 3, "close_ksize": 5, "fill_holes": True},
    {"min_area": 6, "roi_xyxy_norm": [0.1, 0.2, 0.83, 0.9]},
])
def test_regions_match_ndimage(seed, kwargs):
    amap = _blobs(seed)
    thr = float(np.quantile(amap, 0.97))
    result = extract_defects(amap, pixel_threshold=thr, **kwargs)
    assert len(result["regions"]) >= 2
    _check_against_ndimage(amap, result)
    if not kwargs:  # without postprocessing the mask is exactly map >= threshold
        np.testing.assert_array_equal(result["mask"] > 0, amap >= thr)


def test_output_schema():
    amap = _blobs(3, size=40)
    result = extract_defects(amap, pixel_threshold=0.9)
    assert set(result) == {"space", "pixel_threshold", "regions", "map_stats_roi", "mask"}
    assert result["space"] == {"type": "anomaly_map", "shape": [40, 40]}
    assert result["mask"].dtype == np.uint8 and result["mask"].shape == (40, 40)
    assert set(np.unique(result["mask"])) <= {0, 255}
    assert result["map_stats_roi"] == {"max": pytest.approx(1.0), "mean": pytest.approx(float(amap.mean()), abs=1e-6)}
    for region in result["regions"]:
        assert list(region) == ["id", "bbox_xyxy", "area", "centroid_xy", "score_max", "score_mean"]


def test_threshold_is_inclusive():
    amap = np.zeros((5, 5), np.float32)
    amap[1, 1] = 0.5                      # equal to the threshold: defective
    amap[3, 3] = np.nextafter(np.float32(0.5), np.float32(0))  # just below: not
    result = extract_defects(amap, pixel_threshold=0.5)
    assert [r["bbox_xyxy"] for r in result["regions"]] == [[1, 1, 1, 1]]


def test_eight_connectivity():
    amap = np.zeros((6, 6), np.float32)
    amap[1, 1] = amap[2, 2] = amap[3, 3] = 1.0  # a diagonal: one 8-connected region
    amap[1, 4] = 1.0                             # not touching the diagonal
    result = extract_defects(amap, pixel_threshold=0.5)
    assert sorted(r["area"] for r in result["regions"]) == [1, 3]
    diag = next(r for r in result["regions"] if r["area"] == 3)
    assert diag["bbox_xyxy"] == [1, 1, 3, 3] and diag["centroid_xy"] == [2.0, 2.0]


def test_roi_rectangle_floor_ceil():
    # W = 10: x1 = 0.25 -> floor(2.5) = 2, x2 = 0.55 -> ceil(5.5) = 6, so columns 2..5
    # H = 8:  y1 = 0.3  -> floor(2.4) = 2, y2 = 0.5  -> ceil(4.0) = 4, so rows 2..3
    assert roi_rect((8, 10), [0.25, 0.3, 0.55, 0.5]) == (2, 2, 6, 4)
    amap = np.ones((8, 10), np.float32)
    result = extract_defects(amap, pixel_threshold=0.5, roi_xyxy_norm=[0.25, 0.3, 0.55, 0.5])
    assert [r["bbox_xyxy"] for r in result["regions"]] == [[2, 2, 5, 3]]
    assert result["regions"][0]["area"] == 8
    expected = np.zeros((8, 10), np.uint8)
    expected[2:4, 2:6] = 255
    np.testing.assert_array_equal(result["mask"], expected)


def test_roi_zeroes_outside_for_regions_and_stats():
    amap = np.zeros((10, 10), np.float32)
    amap[:, :5] = 0.2
    amap[2:5, 3:8] = 0.9   # a region straddling the ROI's left edge (x = 0.5 -> column 5)
    amap[8, 1] = 5.0       # a high value outside: must not appear in any statistic
    result = extract_defects(amap, pixel_threshold=0.5, roi_xyxy_norm=[0.5, 0.0, 1.0, 1.0])
    (region,) = result["regions"]
    assert region["bbox_xyxy"] == [5, 2, 7, 4] and region["area"] == 9
    inside = amap[:, 5:]
    assert result["map_stats_roi"] == {"max": pytest.approx(0.9), "mean": pytest.approx(float(inside.mean()))}
    # also with a threshold <= 0, outside pixels never become defective
    result = extract_defects(amap, pixel_threshold=0.0, roi_xyxy_norm=[0.5, 0.0, 1.0, 1.0])
    assert result["mask"][:, :5].max() == 0 and result["regions"][0]["bbox_xyxy"] == [5, 0, 9, 9]


def test_roi_outside_is_background_during_morphology():
    amap = np.zeros((12, 12), np.float32)
    amap[3:9, 4:8] = 1.0            # a block whose left side is cut by the ROI at column 6
    result = extract_defects(amap, pixel_threshold=0.5, open_ksize=3, roi_xyxy_norm=[0.5, 0.0, 1.0, 1.0])
    # the clipped block is 2 columns wide: a 3x3 opening removes it, because the zeroed
    # outside is background (cropping instead would have kept it)
    assert result["regions"] == [] and result["mask"].max() == 0
    assert len(extract_defects(amap[:, 6:], pixel_threshold=0.5, open_ksize=3)["regions"]) == 1


@pytest.mark.parametrize("roi", [[0.5, 0.0, 0.4, 1.0], [0, 0, 1.2, 1], [0, 0, 1], "abc"])
def test_bad_roi_is_an_error(roi):
    with pytest.raises(ValueError, match="roi_xyxy_norm"):
        extract_defects(np.zeros((4, 4), np.float32), pixel_threshold=0.5, roi_xyxy_norm=roi)


def test_opening_comes_before_closing():
    amap = np.zeros((20, 20), np.float32)
    checker = (np.indices((7, 7)).sum(axis=0) % 2 == 0)
    amap[6:13, 6:13] = checker   # a checkerboard: opening first erases it
    result = extract_defects(amap, pixel_threshold=0.5, open_ksize=3, close_ksize=3)
    assert result["regions"] == []
    k = np.ones((3, 3), np.uint8)
    fg = (amap >= 0.5).astype(np.uint8)
    close_then_open = cv2.morphologyEx(cv2.morphologyEx(fg, cv2.MORPH_CLOSE, k), cv2.MORPH_OPEN, k)
    assert close_then_open.sum() > 0   # the other order would have reported a region
    # and closing alone merges two squares 1 px apart
    amap = np.zeros((20, 20), np.float32)
    amap[5:10, 3:8] = amap[5:10, 9:14] = 1.0
    assert len(extract_defects(amap, pixel_threshold=0.5)["regions"]) == 2
    merged = extract_defects(amap, pixel_threshold=0.5, close_ksize=3)["regions"]
    assert len(merged) == 1 and merged[0]["bbox_xyxy"] == [3, 5, 13, 9]


def test_fill_holes():
    amap = np.zeros((16, 16), np.float32)
    amap[2:9, 2:9] = 1.0
    amap[4:7, 4:7] = 0.1     # a 3x3 hole
    amap[10:16, 10:16] = 1.0
    amap[13:16, 12:14] = 0.0  # a notch open to the image border: not a hole
    plain = extract_defects(amap, pixel_threshold=0.5)
    filled = extract_defects(amap, pixel_threshold=0.5, fill_holes=True)
    ring = next(r for r in filled["regions"] if r["bbox_xyxy"] == [2, 2, 8, 8])
    assert ring["area"] == 49
    assert ring["score_mean"] == pytest.approx((40 * 1.0 + 9 * 0.1) / 49, abs=1e-6)
    np.testing.assert_array_equal(filled["mask"] > 0, ndimage.binary_fill_holes(plain["mask"] > 0))
    notch = next(r for r in filled["regions"] if r["bbox_xyxy"][0] == 10)
    assert notch["area"] == 36 - 6
    _check_against_ndimage(amap, filled)


def test_min_area_drops_small_regions_and_their_mask():
    amap = np.zeros((12, 12), np.float32)
    amap[1, 1] = 1.0                # area 1
    amap[4:6, 4:6] = 0.8            # area 4 == min_area: kept
    amap[8:11, 8:10] = 0.6          # area 6
    result = extract_defects(amap, pixel_threshold=0.5, min_area=4)
    assert sorted(r["area"] for r in result["regions"]) == [4, 6]
    assert result["mask"][1, 1] == 0 and (result["mask"] > 0).sum() == 10


def test_order_ties_and_max_regions():
    amap = np.zeros((20, 20), np.float32)
    amap[15, 2] = 0.7
    amap[2, 15] = 0.9               # same score_max as the next two: ties by position
    amap[2, 4] = 0.9
    amap[9, 9] = 0.95
    amap[9, 1] = 0.9
    result = extract_defects(amap, pixel_threshold=0.5)
    order = [(r["id"], r["bbox_xyxy"][:2]) for r in result["regions"]]
    assert order == [(1, [9, 9]), (2, [4, 2]), (3, [15, 2]), (4, [1, 9]), (5, [2, 15])]
    cut = extract_defects(amap, pixel_threshold=0.5, max_regions=2)
    assert [r["bbox_xyxy"][:2] for r in cut["regions"]] == [[9, 9], [4, 2]]
    assert (cut["mask"] > 0).sum() == 2 and cut["mask"][9, 9] == 255 and cut["mask"][15, 2] == 0
    none = extract_defects(amap, pixel_threshold=0.5, max_regions=0)
    assert none["regions"] == [] and none["mask"].max() == 0


def test_all_zero_map():
    amap = np.zeros((8, 8), np.float32)
    result = extract_defects(amap, pixel_threshold=0.5)
    assert result["regions"] == [] and result["mask"].max() == 0
    assert result["map_stats_roi"] == {"max": 0.0, "mean": 0.0}
    # map >= threshold: with threshold 0 the whole zero map is one defect
    (region,) = extract_defects(amap, pixel_threshold=0.0)["regions"]
    assert region["area"] == 64 and region["bbox_xyxy"] == [0, 0, 7, 7]


def test_nan_and_inf_are_not_scores():
    amap = np.full((10, 10), 0.1, np.float32)
    amap[2:5, 2:5] = 0.9
    amap[3, 3] = np.nan     # inside a region: a hole that closing/fill_holes may take in
    amap[7, 7] = np.inf     # never defective
    amap[0, 9] = -np.inf
    plain = extract_defects(amap, pixel_threshold=0.5)
    assert [r["area"] for r in plain["regions"]] == [8]
    assert plain["mask"][3, 3] == 0 and plain["mask"][7, 7] == 0
    finite = amap[np.isfinite(amap)]
    assert plain["map_stats_roi"]["max"] == pytest.approx(0.9)
    assert plain["map_stats_roi"]["mean"] == pytest.approx(float(finite.mean()), abs=1e-6)
    filled = extract_defects(amap, pixel_threshold=0.5, fill_holes=True)
    (region,) = filled["regions"]
    assert region["area"] == 9 and region["centroid_xy"] == [3.0, 3.0]
    assert region["score_max"] == pytest.approx(0.9) and region["score_mean"] == pytest.approx(0.9)


def test_all_nan_map_and_all_nan_region():
    amap = np.full((6, 6), np.nan, np.float32)
    result = extract_defects(amap, pixel_threshold=0.5)
    assert result["regions"] == [] and result["map_stats_roi"] == {"max": None, "mean": None}
    amap = np.zeros((7, 7), np.float32)
    amap[1:6, 1:6] = 1.0
    amap[2:5, 2:5] = np.nan
    (region,) = extract_defects(amap, pixel_threshold=0.5, fill_holes=True)["regions"]
    assert region["area"] == 25 and region["score_max"] == 1.0
    amap[1:6, 1:6] = np.nan
    amap[3, 3] = np.nan
    assert extract_defects(amap, pixel_threshold=0.5, fill_holes=True)["regions"] == []


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        extract_defects(np.zeros((4, 4, 3)), pixel_threshold=0.5)
    with pytest.raises(ValueError, match="finite"):
        extract_defects(np.zeros((4, 4)), pixel_threshold=float("nan"))
