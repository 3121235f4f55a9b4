"""Registration recovers a small rotation and shift of an edited ROI and undoes it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sdg_factory.imaging.registration import RegistrationError, register
from sdg_factory.imaging.restyle import restyle_image
from tests.restyle_fixtures import mask_edge_agreement, synthetic_roi


def _moved(image: np.ndarray, dx: float, dy: float, angle: float) -> np.ndarray:
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("dx, dy, angle", [(3, -2, 0.0), (-5, 4, 0.0), (2.5, 1.5, 1.5), (-1, -3, -2.0)])
def test_recovers_shift_and_rotation_of_a_restyled_roi(dx, dy, angle):
    roi = synthetic_roi(1)
    edited = restyle_image(roi.normal_img[..., :3], {"lab_mean": [40, 15, 30]}, seed=2)
    moved = _moved(edited, dx, dy, angle)
    assert mask_edge_agreement(moved, roi.cad_mask) < 0.6
    aligned, found = register(moved, roi.normal_img)
    assert found.shift_x == pytest.approx(dx, abs=0.35)
    assert found.shift_y == pytest.approx(dy, abs=0.35)
    assert found.rotation_deg == pytest.approx(angle, abs=0.3)
    assert found.score > found.score_identity + 0.1
    assert mask_edge_agreement(aligned, roi.cad_mask) > 0.95
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(aligned[inner].astype(int) - edited[inner].astype(int)).mean() < 4


def test_an_unmoved_edit_is_left_untouched():
    roi = synthetic_roi(0)
    edited = restyle_image(roi.normal_img[..., :3], None, seed=1)
    aligned, found = register(edited, roi.normal_img)
    assert found.method == "identity" and (found.shift_x, found.shift_y, found.rotation_deg) == (0, 0, 0)
    assert aligned is edited


def test_size_mismatch_is_an_error():
    with pytest.raises(RegistrationError, match="resize"):
        register(np.zeros((10, 12, 3), np.uint8), np.zeros((12, 12, 3), np.uint8))


def test_large_roi_is_searched_at_reduced_size_then_refined():
    roi = synthetic_roi(2, size=(200, 260))
    edited = restyle_image(roi.normal_img[..., :3], {"lab_mean": [40, 15, 30]}, seed=2)
    aligned, found = register(_moved(edited, -7, 3, 2.0), roi.normal_img)
    assert (found.shift_x, found.shift_y, found.rotation_deg) == pytest.approx((-7, 3, 2.0), abs=0.2)
    assert found.method == "ecc"
    assert mask_edge_agreement(aligned, roi.cad_mask) > 0.95
