"""kedro-viz builds the lineage of a finished run offline: every dataset has a layer (in the order
docs/architecture.md gives), and every dataset worth looking at has a preview of its kind —
contact sheets for images and masks, tables for labels, Plotly charts or a figure for metrics."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from sdg_factory.pipelines.defects_infer import create_pipeline as create_defects_infer
from tests.kedro_runner import project_copy, run_pipeline

LAYERS = ["raw", "intermediate", "primary", "model_input", "models", "model_output", "reporting"]

# Datasets that deliberately have no preview (preview: false, or a dataset with nothing to show):
# 3-D assets, configs read as folders, model folders, text inputs, manifests, markers, in-memory.
NO_PREVIEW = {
    "pcb_usd_assets", "pcb_cookbooks", "pcb_raw_defect_spec_files", "structural_usd", "good_roi_records",
    "anomaly_checkpoint", "anomaly_pretrained_model", "finetune_checkpoint", "defects.detector_models",
    "defects.infer_config_input", "reference_object.project_info", "reference_object.system_prompt",
    "reference_object.augmentation_prompts", "reference_object.scene_manifest", "reference_object.augment_manifest",
    "reference_object.yolo_coco", "scene_generation.completion_markers", "scene_generation.results",
    "structural_candidates", "bare_board_boxes", "bare_board_classes",
}
# Previewable, but not written by this run: finetune (needs a diffusers model; its previews are
# unit-tested), the .npy masks (mask_format is png), optional reference-object inputs left out.
NOT_WRITTEN = {"finetune_train", "finetune_validation", "finetune_metrics", "defects.masks_npy",
               "reference_object.input_mask", "reference_object.background_scenes"}
PLOTS = {"crop_summary", "anomaly_summary", "scene_generation.plan", "reference_object.annotation_report",
         "reference_object.qwen_augmentation_summary", "reference_object.qwen_combined_summary",
         "reference_object.cv_augmentation_summary", "reference_object.cv_combined_summary"}
IMAGES = {"pcb_raw_submasks", "render_cells", "roi_crops", "edited_crops", "augmented_crops", "anomaly_staging_images",
          "anomaly_staging_cad_masks", "anomaly_staging_submasks", "anomaly_images", "anomaly_masks",
          "defects.anomaly_maps_defect", "defects.anomaly_maps_good", "defects.masks_png", "defects.metrics_plot",
          "structural_crops",
          "bare_board_images", "bare_board_golden", "bare_board_masks",
          "scene_generation.images", "reference_object.input_image", "reference_object.reference_mask",
          "reference_object.white_background", "reference_object.perspectives", "reference_object.scene_dataset",
          "reference_object.qwen_augmented_images", "reference_object.qwen_combined_images",
          "reference_object.yolo_dataset", "reference_object.cv_augmented_dataset",
          "reference_object.cv_combined_dataset"}
TABLES = {"pcb_defect_spec", "restyle_registration", "anomaly_staging_defect_spec", "anomaly_labels",
          "defects.image_scores", "defects.defects_jsonl", "structural_plan", "structural_labels", "structural_pairs",
          "reference_object.prompts", "scene_generation.prompts", "scene_generation.history",
          "scene_generation.history_update"}


# the groups of the __default__ view: one node namespace per system (docs/architecture.md)
SYSTEMS = {"setup_pcb", "pcba", "anomalygen", "structural_defect", "bare_board_defects", "reference_object",
           "scene_generation"}


def _defects_node_names() -> set[str]:
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    from tests.kedro_runner import PROJECT_ROOT

    bootstrap_project(PROJECT_ROOT)
    return {n.name.rsplit(".", 1)[-1] for name in ("anomaly_detection", "defects_export")
            for n in pipelines[name].nodes}


def _png(preview: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(preview), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_viz_build_has_layers_and_previews_for_every_pipeline(tmp_path):
    project = project_copy(tmp_path / "project")
    run_pipeline("__default__", cwd=project)  # every pipeline but the finetune alternative, smoke size
    run = project / "data/dig/runs/demo"

    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(project / "src")}
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run([str(kedro), "viz", "build", "--include-previews"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "circular dependency" not in result.stdout + result.stderr

    api = project / "build" / "api"
    main = json.loads((api / "main").read_text())
    names = {n["name"]: n for n in main["nodes"]}
    assert {"render_scan_grid", "crop_rois", "publish_demo_boards"} <= set(names)
    assert any(e["source"] == names["render_cells"]["id"] for e in main["edges"])  # render → crop lineage

    # every system is one group on the __default__ sheet (a node namespace each); the good-image
    # stages are the sub-groups of pcba, and what only one system uses is drawn inside it
    tree = main["modular_pipelines"]
    groups = {c["id"] for c in tree["__root__"]["children"] if c["type"] == "modularPipeline"}
    assert SYSTEMS <= groups, groups
    assert {c["id"] for c in tree["pcba"]["children"] if c["type"] == "modularPipeline"} == {
        "pcba.render", "pcba.crop", "pcba.restyle"}
    assert "pcba.crop" in names["crop_rois"]["modular_pipelines"]
    # (the edits are a leaf now, written by the same node as augmented_crops: drawn at pcba's edge too)
    assert "pcba.restyle" in names["edited_crops"]["modular_pipelines"]
    assert names["structural_plan"]["modular_pipelines"] == ["structural_defect"]
    assert names["anomaly_staging_images"]["modular_pipelines"] == ["anomalygen"]
    flat = {n["name"] for n in main["nodes"] if n["type"] == "task" and not n.get("modular_pipelines")}
    assert flat <= _defects_node_names(), flat  # (their namespace, `defects`, comes with their rewrite)

    # layers: all from the vocabulary, drawn in its order, and acyclic in every pipeline's view
    assert main["layers"] == LAYERS
    data = {}
    for pipeline in main["pipelines"]:
        view = json.loads((api / "pipelines" / pipeline["id"]).read_text())
        assert view["layers"], pipeline["id"]
        data.update({n["name"]: n for n in view["nodes"] if n["type"] == "data"})
    assert {name for name, n in data.items() if n.get("layer") not in LAYERS} == set()

    nodes = {name: json.loads((api / "nodes" / n["id"]).read_text()) for name, n in data.items()}
    previewed = {name for name, node in nodes.items() if node.get("preview") is not None}
    # defects_infer reads a folder the user names: it is not in __default__, so this run writes none of its datasets
    not_run = set(create_defects_infer().datasets()) & set(data) - NO_PREVIEW
    not_run |= {"restyle_registration_items"}  # per-ROI records, previewed as restyle_registration
    assert set(data) - previewed - not_run == NO_PREVIEW | NOT_WRITTEN  # every other dataset shows something
    assert {name for name in previewed if nodes[name]["preview_type"] == "PlotlyPreview"} == PLOTS
    assert {name for name in previewed if nodes[name]["preview_type"] == "ImagePreview"} == IMAGES
    assert {name for name in previewed if nodes[name]["preview_type"] == "TablePreview"} == TABLES

    for name in IMAGES:
        image = _png(nodes[name]["preview"])
        assert 64 <= max(image.shape[:2]) <= 1100 and image.std() > 5, name  # a picture, not a blank
    for name in TABLES:
        table = nodes[name]["preview"]
        assert table["data"] and all(len(row) == len(table["columns"]) for row in table["data"]), name
    for name in PLOTS:
        traces = nodes[name]["preview"]["data"]
        assert traces and all(len(t["x"]) == len(t["y"]) > 0 for t in traces), name
    for name in previewed - IMAGES - TABLES - PLOTS:
        assert nodes[name]["preview_type"] == "JSONPreview", name
        json.loads(nodes[name]["preview"])

    # the charts show the run's numbers
    report = json.loads((run / "06_yolo_dataset/annotation_report.json").read_text())
    bars = {t["name"]: t for t in nodes["reference_object.annotation_report"]["preview"]["data"]}
    assert bars["mean_iou"]["y"] == [report["mean_iou"]]
    assert dict(zip(bars["iou"]["x"], bars["iou"]["y"], strict=False)) == report["iou"]
    plan = json.loads((run / "scene_generation/plan.json").read_text())
    counts = {t["name"]: t for t in nodes["scene_generation.plan"]["preview"]["data"]}["count of scenes.archetype"]
    assert sum(counts["y"]) == len(plan["scenes"])
    # the metrics figure of defects_export is the PNG on disk
    figure = (run / "defects/metrics.png").read_bytes()
    assert nodes["defects.metrics_plot"]["preview"] == base64.b64encode(figure).decode()
    # masks are drawn over their defect images: the sheet has colour, a mask alone has none
    masks = _png(nodes["anomaly_masks"]["preview"]).astype(int)
    assert np.abs(masks[..., 2] - masks[..., 1]).max() > 60
