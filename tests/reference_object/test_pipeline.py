"""End to end on the shipped sample: the document's tree, a YOLO-seg dataset ultralytics trains on,
and the annotation measured against the exact composite masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from sdg_factory.imaging.masks import mask_iou
from sdg_factory.imaging.yolo_labels import parse_yolo_label, rasterize_label
from tests.reference_object.conftest import read_gray, read_rgb

pytestmark = pytest.mark.slow


def test_run_writes_the_documents_tree(smoke_run):
    for name in ("01_white_background.png", "00_reference_mask.png", "pipeline_state.json"):
        assert (smoke_run / name).is_file(), name
    for folder in ("02_perspectives", "03_prompts", "04_dataset", "05_qwen_augmented_images",
                   "05_qwen_combined_images", "06_yolo_dataset", "07_cv_augmented_dataset", "07_cv_combined_dataset"):
        assert (smoke_run / folder).is_dir(), folder
    views = sorted((smoke_run / "02_perspectives").glob("perspective_*.png"))
    assert [v.stem for v in views] == ["perspective_00_front__eye_level", "perspective_01_front_right__elevated",
                                       "perspective_02_side_left__eye_level"]
    prompts = [p.read_text().strip() for p in sorted((smoke_run / "03_prompts").glob("prompt_*.txt"))]
    assert len(prompts) == 2 and len(set(prompts)) == 2 and all("toy robot" in p for p in prompts)
    metadata = json.loads((smoke_run / "04_dataset" / "metadata.json").read_text())
    assert len(metadata) == 3 * 2 * 1  # perspectives × prompts × iterations
    for record in metadata:
        image = read_rgb(smoke_run / "04_dataset" / record["image"])
        mask = read_gray(smoke_run / "04_dataset" / "masks" / record["image"])
        assert image.shape == (240, 320, 3) and mask.shape == (240, 320)
        assert 0.002 < (mask > 0).mean() < 0.6
        assert f"seed_{record['seed'] % 100000:05d}" in record["image"]
    assert len(list((smoke_run / "05_qwen_combined_images").glob("*.png"))) == 12
    state = json.loads((smoke_run / "pipeline_state.json").read_text())
    assert state["failed_operations"] == [] and state["completed_steps"] == [1, 2, 3, 4, 5, 6, 7]


def test_white_background_is_white_outside_the_object(smoke_run):
    white = read_rgb(smoke_run / "01_white_background.png")
    mask = read_gray(smoke_run / "00_reference_mask.png") > 0
    assert (white[~mask] == 255).all()
    assert white[mask].mean() < 200


def _labels(root):
    out = {}
    for split in ("train", "val"):
        for path in sorted((root / split / "labels").glob("*.txt")):
            out[f"{split}/{path.stem}"] = path.read_text()
    return out


def test_yolo_dataset_layout_and_one_polygon_per_part(smoke_run):
    root = smoke_run / "06_yolo_dataset"
    doc = yaml.safe_load((root / "dataset.yaml").read_text())
    assert doc["train"] == "train/images" and doc["val"] == "val/images" and doc["names"] == {0: "toy robot"}
    assert (root / "classes.txt").read_text().strip() == "toy robot"
    labels = _labels(root)
    several = 0
    assert len(labels) == 12
    assert any(k.startswith("val/") for k in labels) and any(k.startswith("train/") for k in labels)
    for pid, text in labels.items():
        split, stem = pid.split("/")
        assert (root / split / "images" / f"{stem}.png").is_file()
        polygons = parse_yolo_label(text)
        several += len(polygons) >= 2
        for cls, poly in polygons:
            assert cls == 0 and poly.min() >= 0 and poly.max() <= 1
    # the robot's arms are detached from its body: its parts are separate polygons, not only the largest
    assert several >= len(labels) // 2
    coco = json.loads((root / "annotations_coco.json").read_text())
    assert len(coco["images"]) == 12 and coco["categories"] == [{"id": 1, "name": "toy robot"}]
    by_file = {img["file_name"]: img["id"] for img in coco["images"]}
    for ann in coco["annotations"]:
        file_name = next(f for f, i in by_file.items() if i == ann["image_id"])
        split, _, name = file_name.split("/")
        assert len(ann["segmentation"]) == len(parse_yolo_label(labels[f"{split}/{name[:-4]}"]))


def test_annotation_iou_against_known_composite_masks(smoke_run):
    """Recompute the IoU independently: label polygons rasterised vs the exact composite masks."""
    root = smoke_run / "06_yolo_dataset"
    ious = {}
    for pid, text in _labels(root).items():
        stem = pid.split("/")[1]
        known = read_gray(smoke_run / "05_qwen_combined_images" / "masks" / f"{stem}.png")
        ious[stem] = mask_iou(rasterize_label(text, known.shape), known)
    composites = [v for k, v in ious.items() if "_qwen_aug_" not in k]
    report = json.loads((root / "annotation_report.json").read_text())
    print(f"\nclassical annotation: mean IoU {np.mean(list(ious.values())):.3f} over {len(ious)} images "
          f"(scene composites {np.mean(composites):.3f}, augmented {report['mean_iou_augmented']})")
    assert report["mean_iou"] == pytest.approx(np.mean(list(ious.values())), abs=1e-3)
    assert np.mean(composites) >= 0.85
    assert np.mean(list(ious.values())) >= 0.85


def test_cv_augmentation_copies_labels_verbatim(smoke_run):
    source = _labels(smoke_run / "06_yolo_dataset")
    augmented = _labels(smoke_run / "07_cv_augmented_dataset")
    assert len(augmented) == len(source)
    for pid, text in augmented.items():
        split, stem = pid.split("/")
        original = f"{split}/{stem.rsplit('_cv_aug_', 1)[0]}"
        assert text == source[original]
        a = read_rgb(smoke_run / "07_cv_augmented_dataset" / split / "images" / f"{stem}.png")
        b = read_rgb(smoke_run / "06_yolo_dataset" / split / "images" / f"{original.split('/')[1]}.png")
        assert a.shape == b.shape and not np.array_equal(a, b)
    combined = _labels(smoke_run / "07_cv_combined_dataset")
    assert set(combined) == set(source) | set(augmented)
    summary = json.loads((smoke_run / "07_cv_augmented_dataset" / "augmentation_summary.json").read_text())
    assert summary["count"] == 12 and summary["applied"]["jpeg"] == 12  # compression_noise_probability = 1


def test_ultralytics_accepts_and_trains_one_epoch(smoke_run, tmp_path):
    from ultralytics import YOLO
    from ultralytics.data.utils import check_det_dataset

    data = str(smoke_run / "07_cv_combined_dataset" / "dataset.yaml")
    info = check_det_dataset(data)
    assert info["nc"] == 1 and info["names"] == {0: "toy robot"}
    model = YOLO("yolov8n-seg.yaml")  # built from its yaml: no weights
    model.train(data=data, epochs=1, imgsz=64, device="cpu", workers=0, batch=8, project=str(tmp_path),
                name="r", plots=False, amp=False, val=True, verbose=False, exist_ok=True)
    results = (tmp_path / "r" / "results.csv").read_text().splitlines()
    assert len(results) == 2 and "seg_loss" in results[0]
    assert (tmp_path / "r" / "weights" / "last.pt").is_file()
