"""The infer_config ``defects`` block: export, import, precedence."""

from __future__ import annotations

import json

import pytest

from sdg_factory.defects import (
    DEFAULTS,
    DefectsConfigError,
    export_infer_config,
    merge_settings,
    resolve_pixel_threshold,
    settings_from_infer_config,
)


def test_export_import_roundtrip():
    settings = merge_settings({"min_area": 5, "open_ksize": 3, "fill_holes": True, "mask_format": "npy",
                               "roi_xyxy_norm": [0.1, 0.1, 0.9, 0.95], "max_regions": 20})
    provenance = {"method": "normal_pixel_quantile", "source": "normal_maps", "q": 0.999}
    exported = export_infer_config(settings, pixel_threshold=2.5, pixel_threshold_provenance=provenance,
                                   base={"model": {"name": "patch_stats"}})
    text = json.dumps(exported)
    back = json.loads(text)
    assert back["model"] == {"name": "patch_stats"}
    assert list(back["defects"])[: len(DEFAULTS)] == list(DEFAULTS)  # the document's keys, in order
    imported = settings_from_infer_config(back)
    assert {k: imported[k] for k in DEFAULTS} == {**settings, "pixel_threshold": 2.5}
    assert imported["pixel_threshold_provenance"] == provenance
    # applying it again (no explicit parameters) reproduces the settings and the threshold
    assert merge_settings({}, back) == {**settings, "pixel_threshold": 2.5}
    thr, prov = resolve_pixel_threshold(infer_config=back)
    assert (thr, prov["source"]) == (2.5, "infer_config")


def test_explicit_parameters_win_over_infer_config_over_defaults():
    infer_config = {"defects": {"min_area": 7, "close_ksize": 5, "pixel_normal_quantile": 0.99}}
    merged = merge_settings({"min_area": 2, "close_ksize": None, "backend": "ignored"}, infer_config)
    assert merged["min_area"] == 2            # explicit parameter
    assert merged["close_ksize"] == 5         # null parameter: the infer_config's
    assert merged["pixel_normal_quantile"] == 0.99
    assert merged["open_ksize"] == DEFAULTS["open_ksize"]  # neither: the document's default
    assert merge_settings({}) == DEFAULTS


@pytest.mark.parametrize(("block", "match"), [
    ({"min_aera": 3}, "unknown defects setting.*min_aera"),
    ({"min_area": -1}, "'min_area' = -1 is invalid"),
    ({"fill_holes": "yes"}, "'fill_holes'"),
    ({"mask_format": "jpg"}, "png, npy"),
    ({"pixel_threshold_strategy": "otsu"}, "normal_pixel_quantile"),
    ({"roi_xyxy_norm": [0, 0, 2, 1]}, "roi_xyxy_norm"),
])
def test_bad_blocks_name_the_key(block, match):
    with pytest.raises(DefectsConfigError, match=match):
        settings_from_infer_config({"defects": block}, "in/infer_config.json")
    with pytest.raises(DefectsConfigError, match="in/infer_config.json"):
        settings_from_infer_config({"defects": block}, "in/infer_config.json")
