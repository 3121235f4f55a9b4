"""The project's one mask IoU (imaging/masks.py) and its rule for empty masks."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.defects import metrics
from sdg_factory.imaging.masks import mask_iou
from sdg_factory.pipelines.reference_object import nodes as reference_object


def _mask(*boxes: tuple[int, int, int, int], shape=(10, 10)) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    for y0, y1, x0, x1 in boxes:
        out[y0:y1, x0:x1] = 255
    return out


def test_overlap_over_union():
    a, b = _mask((0, 4, 0, 4)), _mask((2, 6, 2, 6))   # 16 + 16 - 4 overlap
    assert mask_iou(a, b) == pytest.approx(4 / 28)
    assert mask_iou(a, a) == 1.0 and mask_iou(a, _mask((6, 9, 6, 9))) == 0.0


def test_both_empty_is_none_and_one_empty_is_zero():
    empty = _mask()
    assert mask_iou(empty, empty) is None
    assert mask_iou(empty, _mask((1, 3, 1, 3))) == 0.0 and mask_iou(_mask((1, 3, 1, 3)), empty) == 0.0


def test_any_nonzero_value_is_object_and_bool_masks_work():
    assert mask_iou(_mask((0, 5, 0, 5)) // 255, _mask((0, 5, 0, 5)) > 0) == 1.0


def test_reference_object_and_defects_use_the_same_function():
    assert metrics.mask_iou is mask_iou and reference_object.mask_iou is mask_iou
