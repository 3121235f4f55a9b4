"""Anomaly detectors behind the backend interface."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.backends.anomaly_detection import AnomalyDetector, build_anomaly_detector, image_score
from sdg_factory.defects.metrics import auroc
from tests.defects.synthetic import add_defect, good_roi


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    goods = [good_roi(rng) for _ in range(8)]
    defects = [add_defect(good_roi(rng), rng, kind) for kind in ("scratch", "blob", "scratch", "blob")]
    normals = [good_roi(rng) for _ in range(3)]
    return goods, defects, normals


def _check(detector, data, min_pixel_auroc):
    goods, defects, normals = data
    assert isinstance(detector, AnomalyDetector)
    detector.fit(goods)
    maps = detector.anomaly_maps([im for im, _ in defects])
    normal_maps = detector.anomaly_maps(normals)
    for amap, (im, _) in zip(maps, defects, strict=False):
        assert amap.dtype == np.float32 and amap.shape == im.shape[:2]
    scores = np.concatenate([m.ravel() for m in maps + normal_maps])
    labels = np.concatenate([(mask > 0).ravel() for _, mask in defects] + [np.zeros(m.size, bool) for m in normal_maps])
    assert auroc(scores, labels) > min_pixel_auroc
    assert min(image_score(m) for m in maps) > max(image_score(m) for m in normal_maps)


def test_patch_stats_finds_the_defects(data):
    detector = build_anomaly_detector({"backend": "patch_stats", "grid": 32})
    _check(detector, data, 0.98)
    # normal pixels sit near 1 (normalised Mahalanobis distance)
    normal = detector.anomaly_maps(data[2])[0]
    assert 0.3 < float(np.median(normal)) < 2.0


def test_patch_stats_handles_rgba_gray_and_other_sizes(data):
    goods = data[0]
    detector = build_anomaly_detector({"grid": 16}).fit(goods)
    rgba = np.dstack([goods[0], np.full(goods[0].shape[:2], 255, np.uint8)])
    gray = goods[0][:, :, 1]
    bigger = np.repeat(np.repeat(goods[0], 2, axis=0), 2, axis=1)
    shapes = [m.shape for m in detector.anomaly_maps([rgba, gray, bigger])]
    assert shapes == [goods[0].shape[:2], goods[0].shape[:2], bigger.shape[:2]]


def test_pyimgano_adapter(data):
    pytest.importorskip("pyimgano")
    detector = build_anomaly_detector({"backend": "pyimgano", "model": "vision_pixel_gaussian_map",
                                       "model_kwargs": {"resize_hw": [32, 32], "color": "rgb"}})
    assert detector.name == "pyimgano:vision_pixel_gaussian_map"
    _check(detector, data, 0.9)


def test_errors():
    with pytest.raises(ValueError, match="unknown anomaly-detection backend 'nope'.*patch_stats"):
        build_anomaly_detector({"backend": "nope"})
    with pytest.raises(ValueError,
                       match=r"'gird' \(did you mean 'grid'\?\) in 'anomaly_detection.detector.patch_stats'"):
        build_anomaly_detector({"backend": "patch_stats", "gird": 3})
    with pytest.raises(RuntimeError, match="call fit"):
        build_anomaly_detector({}).anomaly_maps([np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(ValueError, match="no good images"):
        build_anomaly_detector({}).fit([])


def test_image_score():
    amap = np.zeros((10, 10), np.float32)
    amap[0, :3] = [5.0, 4.0, 3.0]
    assert image_score(amap, 0.0) == 5.0
    assert image_score(amap, 0.03) == pytest.approx(4.0)
    amap[1, 1] = np.nan
    assert image_score(amap, 0.0) == 5.0
