"""Node functions of anomaly_detection / defects_export that hold rules of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets.optional_json import OptionalJSONDataset
from sdg_factory.pipelines.anomaly_detection.nodes import map_defect_images, split_good_rois, synthetic_folder
from sdg_factory.pipelines.defects_export.evaluation import label_id
from sdg_factory.pipelines.defects_export.nodes import export_defects, resolve_thresholds

PARAMS = {"holdout_fraction": 0.25, "exclude_defect_bases": True, "min_fit_images": 2}


def _crops(n_a: int, n_b: int) -> dict:
    ids = [f"A/x0_y0/{i:04d}" for i in range(n_a)] + [f"B/x1_y0/{i:04d}" for i in range(n_b)]
    return {pid: (lambda: None) for pid in ids}


def test_split_is_seeded_and_keeps_bases_out_of_fitting():
    labels = [{"material": "A", "cell": "x0_y0", "stem": "0001"}, {"material": "A", "cell": "x0_y0", "stem": "0002"}]
    split = split_good_rois(_crops(8, 4), labels, PARAMS, seed=5)
    a, b = split["materials"]["A"], split["materials"]["B"]
    assert {"A/x0_y0/0001", "A/x0_y0/0002"} <= set(a["holdout"])
    assert len(a["fit"]) + len(a["holdout"]) == 8 and len(a["fit"]) >= 2 and a["defect_bases_in_fit"] == 0
    assert len(b["holdout"]) == 1 and len(b["fit"]) == 3
    assert split == split_good_rois(_crops(8, 4), labels, PARAMS, seed=5)
    assert split != split_good_rois(_crops(8, 4), labels, PARAMS, seed=6)


def test_split_records_a_leak_when_too_few_clean_rois():
    labels = [{"material": "A", "cell": "x0_y0", "stem": f"{i:04d}"} for i in range(3)]
    split = split_good_rois(_crops(3, 0), labels, PARAMS, seed=1)["materials"]["A"]
    assert len(split["fit"]) == 2 and split["defect_bases_in_fit"] == 2


def test_split_and_mapping_errors():
    with pytest.raises(ValueError, match="no good ROIs"):
        split_good_rois({}, [], PARAMS, seed=1)
    with pytest.raises(ValueError, match="material 'Z', which has no good ROIs"):
        map_defect_images({"A": lambda: {}}, {"Z/x0_y0__0001__scratch": lambda: None}, {}, {"materials": {}})


def test_synthetic_folder_is_the_inspection_layout_of_one_material():
    crops = _crops(8, 4)
    split = split_good_rois(crops, [], PARAMS, seed=3)
    defects = {"A/x0_y0__0001__blob": lambda: None, "B/x1_y0__0000__blob": lambda: None}
    folder = synthetic_folder(crops, defects, split, "A")
    a = split["materials"]["A"]
    assert sorted(folder["images"]) == sorted(["defect/A/x0_y0__0001__blob", *(f"good/{p}" for p in a["holdout"])])
    assert sorted(folder["good"]) == a["fit"] and folder["good"][a["fit"][0]] is crops[a["fit"][0]]
    assert folder["image_files"]["defect/A/x0_y0__0001__blob"] == "anomaly/images/A/x0_y0__0001__blob.png"
    assert folder["image_files"][f"good/{a['holdout'][0]}"] == f"augment/crop/{a['holdout'][0]}.png"
    assert folder["golden"] == folder["boxes"] == folder["masks"] == {} and folder["problems"] == []


def test_label_id_from_image_path_or_fields():
    assert label_id({"image": "anomaly/images/A/x0_y0__0001__blob.png"}) == "A/x0_y0__0001__blob"
    assert label_id({"material": "A", "cell": "x0_y0", "stem": "0001", "defect_type": "blob"}) == "A/x0_y0__0001__blob"


def test_image_threshold_and_disabled_export():
    good = {"A/c/0000": lambda: np.zeros((4, 4), np.float32)}
    scores = [{"kind": "good", "id": "A/c/0000", "input": "augment/crop/A/c/0000.png",
               "anomaly_map": "defects/anomaly_maps/good/A/c/0000.npy", "score": 0.5}]
    settings = {"pixel_threshold_strategy": "normal_pixel_quantile", "pixel_normal_quantile": 0.999,
                "roi_xyxy_norm": None, "enabled": False, "mask_format": "png"}
    thresholds = resolve_thresholds({"pixel_threshold": 1.0}, {"threshold": 0.7}, settings, good, scores)
    assert thresholds["threshold"] == 0.7 and thresholds["threshold_provenance"]["source"] == "infer_config"
    png, npy, records = export_defects({}, good, scores, thresholds, settings)
    assert png == {} and npy == {} and records[0]["label"] == 0 and "defects" not in records[0]


def test_optional_json_dataset(tmp_path):
    path = tmp_path / "infer_config.json"
    dataset = OptionalJSONDataset(filepath=str(path))
    assert dataset.load() is None
    path.write_text(json.dumps({"defects": {"min_area": 2}}))
    assert dataset.load() == {"defects": {"min_area": 2}}
    path.write_text("{nope")
    with pytest.raises(DatasetError, match="not valid JSON"):
        dataset.load()
