"""labelled_f1: the threshold and min_area that maximise region F1, with their provenance."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.defects import DEFAULTS, PixelThresholdError, resolve_pixel_threshold
from sdg_factory.defects.labelled_f1 import labelled_f1_threshold


def _maps():
    """Defects at 0.8 (5×5), specks of noise at 0.5 (1 px) and a weak false blob at 0.3 (4×4)."""
    maps, gts = [], []
    for k in range(4):
        m = np.zeros((40, 40), np.float32)
        m[5 + k:10 + k, 5:10] = 0.8
        m[30, 30 - k] = 0.5
        m[20:24, 30:34] = 0.3
        maps.append(m)
        gts.append(np.array([[5, 5 + k, 10, 10 + k]], np.float64))
    return maps, gts


def test_picks_threshold_and_min_area_and_says_how():
    maps, gts = _maps()
    resolved, min_area = labelled_f1_threshold(maps, gts, settings=dict(DEFAULTS), source="calib")
    value, prov = resolved
    assert min_area == 0 and 0.5 < value <= 0.8 + 1e-6     # above the specks and the weak blob, smallest min_area
    assert prov["f1"] == 1.0 and prov["tp"] == 4 and prov["fp"] == 0 and prov["gt_region_count"] == 4
    assert prov["method"] == "labelled_f1" and prov["source"] == "calib" and prov["min_area"] == min_area
    assert prov["min_area_source"] == "labelled_f1" and prov["calibration_image_count"] == 4


def test_explicit_min_area_is_kept():
    maps, gts = _maps()
    (value, prov), min_area = labelled_f1_threshold(maps, gts, settings=dict(DEFAULTS), min_area=30)
    assert min_area == 30 and prov["min_area_source"] == "explicit" and prov["min_area_candidates"] == [30]
    assert prov["tp"] == 0          # 5×5 defects are smaller than 30 px: nothing can be found


def test_no_ground_truth_is_an_error_and_resolution_needs_labels():
    maps, _ = _maps()
    with pytest.raises(PixelThresholdError, match="labelled_f1 calibration on .* found 4 labelled image"):
        labelled_f1_threshold(maps, [np.empty((0, 4))] * 4, settings=dict(DEFAULTS))
    with pytest.raises(PixelThresholdError, match="labelled_f1 needs labelled calibration images"):
        resolve_pixel_threshold(pixel_threshold_strategy="labelled_f1")
    assert resolve_pixel_threshold(pixel_threshold_strategy="labelled_f1", pixel_threshold=0.4).pixel_threshold == 0.4
