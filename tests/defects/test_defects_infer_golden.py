"""golden_template: image maths on synthetic bare-board pairs and colour photos, the backend, saved state."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sdg_factory.backends.anomaly_detection import (
    build_anomaly_detector,
    detector_from_state,
    detector_state,
    needs_fit,
    needs_golden,
)
from sdg_factory.datasets.detector_model import state_from_npz, state_to_npz
from sdg_factory.defects import extract_defects
from sdg_factory.defects.metrics import region_boxes_xyxy, region_detection, yolo_boxes_xyxy
from sdg_factory.imaging.golden_template import GoldenTemplateError, GoldenTemplateSettings, golden_template_map
from tests.defects.inspection_pairs import CLASSES, bare_board_pair
from tests.defects.synthetic import good_roi

SIZE = 256


def _kinds(n: int) -> tuple[str, ...]:
    rng = np.random.default_rng(1000 + n)
    return () if n % 4 == 3 else tuple(rng.choice(CLASSES, size=int(rng.integers(1, 3)), replace=False))


def test_bare_board_pairs_region_f1_at_iou_033():
    """±3 px shifts, up to 0.5° rotation, lines 1–2 px wider or narrower, six defect types."""
    items, shifts = [], []
    for n in range(16):
        pair = bare_board_pair(n, size=SIZE, kinds=_kinds(n))
        amap, reg = golden_template_map(pair["image"], pair["golden"])
        shifts.append(max(abs(reg.shift_x), abs(reg.shift_y)))
        regions = extract_defects(amap, pixel_threshold=0.5, min_area=4)["regions"]
        gt, cls = yolo_boxes_xyxy(pair["boxes"], SIZE, SIZE)
        items.append((region_boxes_xyxy(regions), gt, cls))
    result = region_detection(items, 0.33, CLASSES)
    assert max(shifts) > 1.5            # the pairs really were misaligned, and registration found it
    assert result["f1"] >= 0.9, result
    assert sum(r["gt_regions"] for r in result["per_class"].values()) == result["tp"] + result["fn"]
    assert set(result["per_class"]) == set(CLASSES)


def test_envelope_tolerates_width_jitter_and_misalignment_without_defects():
    for n in (3, 7):                    # clean pairs
        pair = bare_board_pair(n, size=SIZE, kinds=())
        amap, _ = golden_template_map(pair["image"], pair["golden"])
        assert not extract_defects(amap, pixel_threshold=0.5, min_area=4)["regions"]
        # without the envelope, the same pair is full of "defects" along every edge
        bare, _ = golden_template_map(pair["image"], pair["golden"],
                                      GoldenTemplateSettings(jitter_px=0, recover_extent=False))
        assert len(extract_defects(bare, pixel_threshold=0.5, min_area=4)["regions"]) > 3


def test_sixteen_bit_gray_gives_the_same_map():
    pair = bare_board_pair(1, size=SIZE, kinds=("pin_hole",))
    a, _ = golden_template_map(pair["image"], pair["golden"])
    b, _ = golden_template_map(pair["image"].astype(np.uint16) * 257, pair["golden"].astype(np.uint16) * 257)
    assert np.allclose(a, b, atol=1e-4)


def test_colour_photo_with_gain_and_shift():
    rng = np.random.default_rng(5)
    golden = cv2.resize(good_roi(rng, 40, 56), (224, 160), interpolation=cv2.INTER_CUBIC)
    image = np.clip(np.roll(golden, (2, -2), axis=(0, 1)).astype(np.float32) * 1.15 + 8, 0, 255).astype(np.uint8)
    cv2.circle(image, (150, 60), 6, (250, 40, 40), -1)        # a red blob the golden does not have
    amap, reg = golden_template_map(image, golden, GoldenTemplateSettings(smooth_sigma=1.0))
    # golden → image frame
    assert reg.method in ("coarse", "ecc") and abs(reg.shift_x - 2) < 1 and abs(reg.shift_y + 2) < 1
    regions = extract_defects(amap, pixel_threshold=0.25, min_area=8)["regions"]
    assert len(regions) == 1
    x0, y0, x1, y1 = regions[0]["bbox_xyxy"]
    assert x0 <= 150 <= x1 and y0 <= 60 <= y1


def test_size_mismatch_is_an_error():
    with pytest.raises(GoldenTemplateError, match="the image is 30x20 but its golden is 31x20"):
        golden_template_map(np.zeros((20, 30), np.uint8), np.zeros((20, 31), np.uint8))


def test_backend_needs_goldens_not_fitting_and_saves_its_settings():
    det = build_anomaly_detector({"backend": "golden_template", "golden_template": {"jitter_px": 1}})
    assert not needs_fit(det) and needs_golden(det) and det.jitter_px == 1
    pair = bare_board_pair(2, size=192, kinds=("short",))
    state = state_from_npz(state_to_npz(detector_state(det)), "mem")
    again = detector_from_state(state)
    assert again.settings() == det.settings() and state["sha256"] == detector_state(again)["sha256"]
    assert np.array_equal(det.anomaly_maps([pair["image"]], [pair["golden"]])[0],
                          again.anomaly_maps([pair["image"]], [pair["golden"]])[0])


def test_patch_stats_state_roundtrip_gives_identical_maps():
    rng = np.random.default_rng(3)
    goods = [good_roi(rng) for _ in range(4)]
    det = build_anomaly_detector({"backend": "patch_stats", "grid": 16}).fit(goods)
    state = state_from_npz(state_to_npz(detector_state(det)), "mem")
    assert set(state["arrays"]) == {"mean", "precision", "n_fit"}
    again = detector_from_state(state)
    probe = good_roi(rng)
    assert np.array_equal(det.anomaly_maps([probe])[0], again.anomaly_maps([probe])[0])
    state["algorithm_version"] = 99
    with pytest.raises(ValueError, match="was made by algorithm version 99"):
        detector_from_state(state)


def test_npz_with_object_arrays_is_refused(tmp_path):
    import io

    buf = io.BytesIO()
    np.savez(buf, **{"meta.json": np.array([{"backend": "x"}], dtype=object)})
    with pytest.raises(Exception, match="not a saved detector"):
        state_from_npz(buf.getvalue(), "evil.npz")
