"""Pixel-threshold resolution: the document's order, the provenance fields, the error."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_factory.defects import PixelThresholdError, resolve_pixel_threshold


def _normal_maps(n: int = 3, shape=(16, 20)) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.normal(1.0, 0.2, shape).astype(np.float32) for _ in range(n)]


def test_explicit_value_wins_over_everything():
    thr, prov = resolve_pixel_threshold(pixel_threshold=0.42, infer_config={"defects": {"pixel_threshold": 0.9}},
                                        calibration_maps=_normal_maps())
    assert thr == 0.42
    assert prov == {"method": "fixed", "source": "explicit", "value": 0.42}


def test_infer_config_value_comes_second():
    thr, prov = resolve_pixel_threshold(infer_config={"defects": {"pixel_threshold": 0.9}},
                                        calibration_maps=_normal_maps())
    assert thr == 0.9
    assert prov == {"method": "fixed", "source": "infer_config", "value": 0.9}
    # a named infer-config source is recorded as given
    _, prov = resolve_pixel_threshold(pixel_threshold_strategy="infer_config", infer_config_source="ic.json",
                                      infer_config={"defects": {"pixel_threshold": 1}})
    assert prov["source"] == "ic.json"


def test_calibration_from_normal_maps_default_quantile():
    maps = _normal_maps()
    maps[1] = maps[1][:10, :12]                       # maps of different sizes are fine
    maps[2][0, 0] = np.nan                            # non-finite pixels are left out
    resolved = resolve_pixel_threshold(calibration_maps=maps)
    pixels = np.concatenate([m.ravel() for m in maps])
    pixels = pixels[np.isfinite(pixels)]
    assert resolved.pixel_threshold == pytest.approx(float(np.quantile(pixels, 0.999)))
    assert resolved.pixel_threshold_provenance == {
        "method": "normal_pixel_quantile", "source": "normal_maps", "q": 0.999,
        "calibration_map_count": 3, "calibration_pixel_count": 16 * 20 * 2 + 10 * 12 - 1,
        "roi_xyxy_norm": None, "non_finite_pixel_count": 1,
    }


def test_calibration_inside_roi_with_given_quantile():
    maps = _normal_maps(2)
    for m in maps:
        m[:, :10] += 100.0                            # outside the ROI: must not count
    thr, prov = resolve_pixel_threshold(calibration_maps=maps, pixel_normal_quantile=0.5,
                                        roi_xyxy_norm=[0.5, 0.0, 1.0, 1.0], calibration_source="good_maps")
    inside = np.concatenate([m[:, 10:].ravel() for m in maps])
    assert thr == pytest.approx(float(np.quantile(inside, 0.5)))
    assert prov["q"] == 0.5 and prov["calibration_pixel_count"] == inside.size
    assert prov["roi_xyxy_norm"] == [0.5, 0.0, 1.0, 1.0] and prov["source"] == "good_maps"


@pytest.mark.parametrize("strategy", ["fixed", "infer_config"])
def test_fixed_strategies_never_calibrate(strategy):
    with pytest.raises(PixelThresholdError, match=f"pixel_threshold_strategy={strategy} needs a threshold value"):
        resolve_pixel_threshold(pixel_threshold_strategy=strategy, calibration_maps=_normal_maps())


def test_nothing_to_resolve_from_is_an_actionable_error():
    with pytest.raises(PixelThresholdError) as err:
        resolve_pixel_threshold(infer_config={"defects": {"pixel_threshold": None}})
    message = str(err.value)
    assert "no calibration maps" in message
    assert "defects_export.pixel_threshold" in message
    assert "infer_config.json" in message
    assert "kedro run --pipeline=anomaly_detection" in message
    with pytest.raises(PixelThresholdError, match="without a finite pixel"):
        resolve_pixel_threshold(calibration_maps=[np.full((3, 3), np.nan)])


def test_bad_strategy_and_quantile():
    with pytest.raises(PixelThresholdError, match="one of normal_pixel_quantile, fixed, infer_config"):
        resolve_pixel_threshold(pixel_threshold_strategy="otsu", pixel_threshold=1.0)
    with pytest.raises(PixelThresholdError, match=r"\(0, 1\]"):
        resolve_pixel_threshold(calibration_maps=_normal_maps(), pixel_normal_quantile=99.9)
