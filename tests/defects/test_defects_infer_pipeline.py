"""``defects_infer`` end to end on inspection folders written here (no other pipeline's code).

One labelled calibration folder and one labelled, nested test folder of synthetic bare-board
pairs (±3 px, ≤0.5°, line widths ±1–2 px); the run calibrates with ``labelled_f1``; a second run
reloads the detector from ``infer_config.json``. Own-format folders (JPG/BMP/TIFF, 16-bit,
nested) go through a fitted detector (``patch_stats`` on ``good/``). Bad folders lose only their
bad items.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets.failures import PartitionFailuresError
from tests.defects.inspection_pairs import CLASSES, write_inspection_folder
from tests.defects.synthetic import add_defect, good_roi
from tests.kedro_runner import run_pipeline


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _out(tmp: Path, run: str) -> Path:
    return tmp / "data/dig/runs" / run / "defects_infer"


@pytest.fixture(scope="module")
def golden_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("infer")
    calib, test = tmp / "calib", tmp / "inspect"
    write_inspection_folder(calib, list(range(0, 12)))
    write_inspection_folder(test, list(range(100, 106)))
    write_inspection_folder(test, list(range(106, 112)), prefix="lot2/", classes=False)   # nested ids
    before = _hashes(test), _hashes(calib)
    run_pipeline("defects_infer", env="smoke", cwd=tmp,
                 params={"run_name": "R", "input_dir": str(test), "calib_dir": str(calib),
                         "detector": "golden_template"})
    config = _out(tmp, "R") / "infer_config.json"
    run_pipeline("defects_infer", env="smoke", cwd=tmp,
                 params={"run_name": "R2", "input_dir": str(test), "infer_config": str(config)})
    return tmp, test, calib, before


def test_region_f1_and_metrics(golden_runs):
    tmp, *_ = golden_runs
    metrics = json.loads((_out(tmp, "R") / "metrics.json").read_text())
    regions = metrics["regions"]
    assert regions["iou_threshold"] == 0.33 and metrics["label_source"] == "boxes" and metrics["images"] == 12
    assert regions["f1"] >= 0.9 and regions["precision"] >= 0.85 and regions["recall"] >= 0.85, regions
    assert set(regions["per_class"]) <= set(CLASSES) and len(regions["per_class"]) >= 4
    assert sum(c["gt_regions"] for c in regions["per_class"].values()) == regions["tp"] + regions["fn"]
    assert metrics["pixel_auroc"] > 0.9 and metrics["aupro"] > 0.5


def test_outputs_and_schema(golden_runs):
    tmp, test, *_ = golden_runs
    out = _out(tmp, "R")
    records = _jsonl(out / "defects.jsonl")
    assert [r["id"] for r in records] == sorted(r["id"] for r in records) and len(records) == 12
    assert any(r["id"].startswith("lot2/") for r in records)
    for r in records:
        assert r["input"] == f"{test}/images/{r['id']}.png"
        mask = cv2.imread(str(tmp / "data/dig/runs/R" / r["defects"]["mask"]["path"]), cv2.IMREAD_UNCHANGED)
        assert mask.shape == tuple(r["defects"]["space"]["shape"])
        assert int((mask > 0).sum()) == sum(g["area"] for g in r["defects"]["regions"])
    assert json.loads((out / "failures.json").read_text()) == []
    model = list((out / "model/detector.npz").glob("*/detector.npz"))
    assert len(model) == 1


def test_labelled_f1_provenance(golden_runs):
    tmp, _, calib, _ = golden_runs
    out = _out(tmp, "R")
    thresholds = json.loads((out / "thresholds.json").read_text())
    prov = thresholds["pixel_threshold_provenance"]
    assert thresholds["pixel_threshold_strategy"] == "labelled_f1"
    assert prov["method"] == "labelled_f1" and prov["source"] == str(calib) and prov["label_source"] == "boxes"
    assert prov["iou_threshold"] == 0.33 and prov["calibration_image_count"] == 12 and prov["gt_region_count"] > 10
    assert prov["min_area_source"] == "labelled_f1" and prov["min_area"] in prov["min_area_candidates"]
    assert prov["min_area"] == thresholds["min_area"] and prov["threshold_candidate_count"] > 5
    assert prov["f1"] >= 0.9 and prov["tp"] + prov["fn"] == prov["gt_region_count"]
    config = json.loads((out / "infer_config.json").read_text())
    assert config["defects"]["pixel_threshold"] == thresholds["pixel_threshold"]
    assert config["defects"]["pixel_threshold_strategy"] == "labelled_f1"
    assert config["defects"]["min_area"] == thresholds["min_area"]
    assert config["defects"]["pixel_threshold_provenance"] == prov
    assert config["model"]["backend"] == "golden_template" and len(config["model"]["sha256"]) == 64


def test_reload_from_infer_config_gives_identical_defects(golden_runs):
    tmp, *_ = golden_runs
    first, second = _out(tmp, "R"), _out(tmp, "R2")
    assert (first / "defects.jsonl").read_bytes() == (second / "defects.jsonl").read_bytes()
    fit_split = json.loads((second / "fit_split.json").read_text())
    assert fit_split["reloaded_from"].endswith("R/defects_infer/infer_config.json")
    a, b = (json.loads((d / "infer_config.json").read_text()) for d in (first, second))
    assert a["model"]["sha256"] == b["model"]["sha256"] and a["defects"] == b["defects"]
    assert list((second / "model/detector.npz").glob("*/detector.npz"))   # R2 is deployable in turn


def test_the_users_folders_are_untouched(golden_runs):
    _, test, calib, (test_before, calib_before) = golden_runs
    assert _hashes(test) == test_before and _hashes(calib) == calib_before


def test_folder_without_labels_gives_defects_and_no_metrics(golden_runs, tmp_path):
    tmp, test, *_ = golden_runs
    plain = tmp_path / "plain"
    shutil.copytree(test / "images", plain / "images")
    shutil.copytree(test / "golden", plain / "golden")
    (tmp / "data/dig/runs/R3/defects_infer").mkdir(parents=True)
    (tmp / "data/dig/runs/R3/defects_infer/metrics.json").write_text("{}")   # stale from an earlier run
    run_pipeline("defects_infer", env="smoke", cwd=tmp,
                 params={"run_name": "R3", "input_dir": str(plain),
                         "infer_config": str(_out(tmp, "R") / "infer_config.json")})
    out = _out(tmp, "R3")
    assert len(_jsonl(out / "defects.jsonl")) == 12
    assert not (out / "metrics.json").exists()


def test_bad_folder_reports_each_bad_item_and_keeps_the_others(golden_runs, tmp_path):
    tmp, *_ = golden_runs
    bad = tmp_path / "bad"
    write_inspection_folder(bad, list(range(200, 206)), masks=False)
    (bad / "golden/board_201.png").unlink()                                   # a golden missing
    (bad / "images/board_202.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # unreadable
    (bad / "boxes/board_203.txt").write_text("0 1.2 0.5 0.1 0.1\n")           # out of range
    with pytest.raises(PartitionFailuresError) as exc:
        run_pipeline("defects_infer", env="smoke", cwd=tmp,
                     params={"run_name": "B", "input_dir": str(bad),
                             "infer_config": str(_out(tmp, "R") / "infer_config.json")})
    text = str(exc.value)
    for item, file in (("board_201", "golden/board_201.*"), ("board_202", "images/board_202.png"),
                       ("board_203", "boxes/board_203.txt")):
        assert item in text and file in text, text
    out = _out(tmp, "B")
    failures = json.loads((out / "failures.json").read_text())
    assert sorted((f["id"], f["file"], f["stage"]) for f in failures) == [
        ("board_201", "golden/board_201.*", "infer"), ("board_202", "images/board_202.png", "infer"),
        ("board_203", "boxes/board_203.txt", "evaluation")]
    ids = [r["id"] for r in _jsonl(out / "defects.jsonl")]
    assert ids == ["board_200", "board_203", "board_204", "board_205"]        # 203 is inspected, not scored
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"] == 3

    # the same command again: every node is skipped, and the run still names the bad items
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    with pytest.raises(PartitionFailuresError) as again:
        run_pipeline("defects_infer", env="smoke", cwd=tmp,
                     params={"run_name": "B", "input_dir": str(bad),
                             "infer_config": str(_out(tmp, "R") / "infer_config.json")})
    assert sorted(f.partition for f in again.value.failures) == ["board_201", "board_202", "board_203"]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == written


def test_folder_without_images_is_a_clear_error(golden_runs, tmp_path):
    tmp, *_ = golden_runs
    (tmp_path / "empty/images/sub").mkdir(parents=True)
    with pytest.raises(Exception, match="has no images in") as exc:
        run_pipeline("defects_infer", env="smoke", cwd=tmp,
                     params={"run_name": "E", "input_dir": str(tmp_path / "empty"),
                             "infer_config": str(_out(tmp, "R") / "infer_config.json")})
    assert isinstance(exc.value, DatasetError) or "DatasetError" in repr(exc.value) or "no images" in str(exc.value)


def _own_formats(root: Path, with_defects: bool) -> None:
    """JPG, BMP, TIFF (16-bit gray), PNG, nested; good/ images to fit on."""
    rng = np.random.default_rng(7)
    (root / "good").mkdir(parents=True, exist_ok=True)
    for i in range(6):
        cv2.imwrite(str(root / "good" / f"g{i}.png"), good_roi(rng)[:, :, ::-1])
    images = []
    for i in range(4):
        img = good_roi(rng)
        if with_defects and i % 2 == 0:
            img, _ = add_defect(img, rng, "blob")
        images.append(img)
    (root / "images/lot/deep").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "images/a.jpg"), images[0][:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(root / "images/lot/b.bmp"), images[1][:, :, ::-1])
    gray16 = (cv2.cvtColor(images[2], cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(root / "images/lot/deep/c.tif"), gray16)
    cv2.imwrite(str(root / "images/d.png"), images[3][:, :, ::-1])


def test_own_formats_with_a_fitted_detector_and_reload(tmp_path):
    calib, test = tmp_path / "calib", tmp_path / "inspect"
    _own_formats(calib, with_defects=False)
    _own_formats(test, with_defects=True)
    before = _hashes(test)
    run_pipeline("defects_infer", env="smoke", cwd=tmp_path,
                 params={"run_name": "P", "input_dir": str(test), "calib_dir": str(calib), "detector": "patch_stats"})
    out = _out(tmp_path, "P")
    records = _jsonl(out / "defects.jsonl")
    assert [r["id"] for r in records] == ["a", "d", "lot/b", "lot/deep/c"]
    assert records[3]["defects"]["space"]["shape"] == [40, 56]
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert thresholds["pixel_threshold_provenance"]["method"] == "normal_pixel_quantile"
    assert thresholds["pixel_threshold_provenance"]["source"] == f"{calib}/good"
    split = json.loads((out / "fit_split.json").read_text())
    assert len(split["fit"]) + len(split["holdout"]) == 6 and split["holdout"]
    assert not (out / "metrics.json").exists()
    config = json.loads((out / "infer_config.json").read_text())
    assert config["model"]["backend"] == "patch_stats"
    run_pipeline("defects_infer", env="smoke", cwd=tmp_path,
                 params={"run_name": "P2", "input_dir": str(test), "infer_config": str(out / "infer_config.json")})
    assert (out / "defects.jsonl").read_bytes() == (_out(tmp_path, "P2") / "defects.jsonl").read_bytes()
    assert _hashes(test) == before
