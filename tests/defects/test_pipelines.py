"""anomaly_detection → defects_export end to end on hand-written texture-defect outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from sdg_factory.datasets.image import decode_image, encode_image
from sdg_factory.defects import PixelThresholdError, extract_defects
from tests.defects.synthetic import add_defect, good_roi
from tests.kedro_runner import run_pipeline

MAT = "C0603"
CELLS = ("x0_y0", "x1_y0")
DEFECTS = {("x0_y0", "0000"): "scratch", ("x0_y0", "0001"): "blob", ("x1_y0", "0000"): "scratch",
           ("x1_y0", "0002"): "blob"}


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_image(image, ".png"))


def _texture_outputs(run: Path) -> None:
    """What the texture-defect pipeline writes: good ROIs, defect images, masks, labels."""
    rng = np.random.default_rng(11)
    goods = {}
    for cell in CELLS:
        for i in range(5):
            goods[(cell, f"{i:04d}")] = img = good_roi(rng)
            _write(run / "augment/crop" / MAT / cell / f"{i:04d}.png", img)
    labels = []
    for (cell, stem), kind in DEFECTS.items():
        image, mask = add_defect(goods[(cell, stem)], rng, kind)
        name = f"{cell}__{stem}__{kind}"
        _write(run / "anomaly/images" / MAT / f"{name}.png", image)
        _write(run / "anomaly/masks" / MAT / f"{name}.png", mask)
        ys, xs = np.nonzero(mask)
        labels.append({"image": f"images/{MAT}/{name}.png", "mask": f"masks/{MAT}/{name}.png", "material": MAT,
                       "cell": cell, "stem": stem, "defect_type": kind,
                       "bbox_xyxy": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())],
                       "area": int((mask > 0).sum())})
    (run / "anomaly/labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labels))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("defects")
    run = tmp / "data/dig/runs/t"          # run_pipeline points dig_url_root at cwd/data/dig
    params = {"run_name": "t"}
    _texture_outputs(run)
    run_pipeline("anomaly_detection", env="smoke", params=params, cwd=tmp)
    run_pipeline("defects_export", env="smoke", params=params, cwd=tmp)
    return tmp, run, params


def test_split_holds_out_defect_bases(exported):
    _, run, _ = exported
    split = json.loads((run / "defects/detector_split.json").read_text())["materials"][MAT]
    bases = {f"{MAT}/{cell}/{stem}" for cell, stem in DEFECTS}
    assert bases <= set(split["holdout"]) and not bases & set(split["fit"])
    assert len(split["fit"]) + len(split["holdout"]) == 10 and split["defect_bases_in_fit"] == 0


def test_unchanged_rerun_keeps_the_saved_detector_and_does_not_refit(exported, monkeypatch):
    tmp, run, params = exported
    models = sorted((run / "defects/model").glob("*.npz"))
    assert [p.name for p in models] == [f"{MAT}.npz"]
    with np.load(models[0], allow_pickle=False) as npz:   # arrays + meta.json, no pickle
        assert "meta.json" in npz.files and any(k.startswith("arrays/") for k in npz.files)
    watched = [*models, *sorted((run / "defects/anomaly_maps").rglob("*.npy"))]
    before = {p: p.stat().st_mtime_ns for p in watched}

    def no_refit(self, images):
        raise AssertionError("an unchanged re-run fitted the detector again")

    from sdg_factory.backends.anomaly_detection.patch_stats import PatchStatsDetector
    monkeypatch.setattr(PatchStatsDetector, "fit", no_refit)
    run_pipeline("anomaly_detection", env="smoke", params=params, cwd=tmp)
    assert {p: p.stat().st_mtime_ns for p in watched} == before


def test_maps_and_scores(exported):
    _, run, _ = exported
    scores = _jsonl(run / "defects/image_scores.jsonl")
    assert sorted(r["kind"] for r in scores).count("defect") == len(DEFECTS)
    for r in scores:
        amap = np.load(run / r["anomaly_map"])
        image = decode_image((run / r["input"]).read_bytes())
        assert amap.dtype == np.float32 and amap.shape == image.shape[:2]
    defect = [r["score"] for r in scores if r["kind"] == "defect"]
    good = [r["score"] for r in scores if r["kind"] == "good"]
    assert min(defect) > max(good)   # the synthetic defects are obvious to the detector


def test_threshold_calibrated_on_good_maps(exported):
    _, run, _ = exported
    thresholds = json.loads((run / "defects/thresholds.json").read_text())
    good = sorted((run / "defects/anomaly_maps/good").rglob("*.npy"))
    pixels = np.concatenate([np.load(p).ravel() for p in good])
    assert thresholds["pixel_threshold"] == pytest.approx(float(np.quantile(pixels, 0.999)))
    assert thresholds["pixel_threshold_provenance"] == {
        "method": "normal_pixel_quantile", "source": "defects/anomaly_maps/good", "q": 0.999,
        "calibration_map_count": len(good), "calibration_pixel_count": int(pixels.size), "roi_xyxy_norm": None}


def test_defects_jsonl_masks_and_infer_config(exported):
    _, run, _ = exported
    records = _jsonl(run / "defects/defects.jsonl")
    thresholds = json.loads((run / "defects/thresholds.json").read_text())
    assert [r["index"] for r in records] == list(range(len(records)))
    for record in records:
        assert {"index", "input", "score", "label", "anomaly_map", "defects"} <= set(record)
        block = record["defects"]
        assert set(block) == {"space", "pixel_threshold", "pixel_threshold_provenance", "mask", "regions",
                              "map_stats_roi"}
        amap = np.load(run / record["anomaly_map"]["path"])
        assert record["anomaly_map"] == {"path": record["anomaly_map"]["path"], "shape": list(amap.shape),
                                         "dtype": "float32"}
        mask = decode_image((run / block["mask"]["path"]).read_bytes(), "gray")
        expected = extract_defects(amap, pixel_threshold=thresholds["pixel_threshold"])
        np.testing.assert_array_equal(mask, expected["mask"])
        assert block["regions"] == expected["regions"]
        assert block["mask"] == {"path": block["mask"]["path"], "shape": list(amap.shape), "dtype": "uint8",
                                 "encoding": "png"}
        assert record["label"] == int(record["score"] >= thresholds["threshold"])
    defect_records = [r for r in records if r["input"].startswith("anomaly/images/")]
    assert all(r["defects"]["regions"] for r in defect_records)
    config = json.loads((run / "defects/infer_config.json").read_text())
    assert list(config["defects"])[:11] == ["enabled", "pixel_threshold", "pixel_threshold_strategy",
                                            "pixel_normal_quantile", "mask_format", "roi_xyxy_norm", "min_area",
                                            "open_ksize", "close_ksize", "fill_holes", "max_regions"]
    assert config["defects"]["pixel_threshold"] == thresholds["pixel_threshold"]
    assert config["defects"]["pixel_threshold_provenance"]["method"] == "normal_pixel_quantile"
    assert config["model"]["backend"] == "patch_stats"


def test_the_exported_config_deploys_through_defects_infer(exported):
    """defects_export's infer_config.json names the saved detector: defects_infer reloads it on an
    inspection folder of the same images and finds the same regions (one code path)."""
    tmp, run, _ = exported
    config = json.loads((run / "defects/infer_config.json").read_text())
    assert config["model"]["path"] == f"model/{MAT}.npz" and set(config["model"]["materials"]) == {MAT}
    folder = tmp / "own_folder"
    shutil.copytree(run / "anomaly/images" / MAT, folder / "images")
    run_pipeline("defects_infer", env="smoke", cwd=tmp, params={
        "run_name": "deployed", "input_dir": str(folder), "infer_config": str(run / "defects/infer_config.json")})
    exported_regions = {r["input"].rsplit("/", 1)[1][:-4]: r["defects"]["regions"]
                        for r in _jsonl(run / "defects/defects.jsonl") if r["input"].startswith("anomaly/images/")}
    inferred = {r["id"]: r["defects"]["regions"]
                for r in _jsonl(tmp / "data/dig/runs/deployed/defects_infer/defects.jsonl")}
    assert inferred == exported_regions and all(inferred.values())


def test_metrics_against_independent_computation(exported):
    _, run, _ = exported
    metrics = json.loads((run / "defects/metrics.json").read_text())
    scores = _jsonl(run / "defects/image_scores.jsonl")
    defect = [r["score"] for r in scores if r["kind"] == "defect"]
    good = [r["score"] for r in scores if r["kind"] == "good"]
    u = mannwhitneyu(defect, good).statistic
    assert metrics["image_auroc"] == pytest.approx(u / (len(defect) * len(good)))
    pos, neg = [], []
    for r in scores:
        amap = np.load(run / r["anomaly_map"])
        if r["kind"] == "good":
            neg.append(amap.ravel())
            continue
        gt = decode_image((run / "anomaly/masks" / (r["id"] + ".png")).read_bytes(), "gray") > 0
        pos.append(amap[gt])
        neg.append(amap[~gt])
    pos, neg = np.concatenate(pos), np.concatenate(neg)
    assert metrics["pixel_auroc"] == pytest.approx(mannwhitneyu(pos, neg).statistic / (pos.size * neg.size))
    assert metrics["pixel_auroc"] > 0.95 and 0.5 < metrics["aupro"] <= 1.0
    assert set(metrics["per_defect_type"]) == {"scratch", "blob"}
    for row in metrics["per_defect_type"].values():
        assert row["images"] == 2 and row["regions"] == 2 and 0 <= row["region_recall"] <= 1
    plot = cv2.imread(str(run / "defects/metrics.png"))
    assert plot is not None and plot.shape[1] > 500


def test_infer_config_given_back_is_honoured(exported):
    tmp, run, params = exported
    config = json.loads((run / "defects/infer_config.json").read_text())
    config["defects"].update({"pixel_threshold": 4.0, "min_area": 3, "mask_format": "npy"})
    given = tmp / "given_infer_config.json"
    given.write_text(json.dumps(config))
    run_pipeline("defects_export", env="smoke", params={**params, "defects_infer_config": str(given)},
                 cwd=tmp)
    thresholds = json.loads((run / "defects/thresholds.json").read_text())
    assert thresholds["pixel_threshold"] == 4.0
    assert thresholds["pixel_threshold_provenance"] == {"method": "fixed", "source": "infer_config", "value": 4.0}
    settings = json.loads((run / "defects/settings.json").read_text())
    assert settings["min_area"] == 3 and settings["mask_format"] == "npy"
    record = _jsonl(run / "defects/defects.jsonl")[0]
    mask = np.load(run / record["defects"]["mask"]["path"])
    amap = np.load(run / record["anomaly_map"]["path"])
    np.testing.assert_array_equal(mask, extract_defects(amap, pixel_threshold=4.0, min_area=3)["mask"])
    shutil.rmtree(run / "defects/masks")


def test_no_threshold_is_an_actionable_error(exported):
    tmp, _, params = exported
    with pytest.raises(PixelThresholdError, match="needs a threshold value"):
        run_pipeline("defects_export", env="smoke",
                     params={**params, "defects_export": {"pixel_threshold_strategy": "fixed"}}, cwd=tmp)
