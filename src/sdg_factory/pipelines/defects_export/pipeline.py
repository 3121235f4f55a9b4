"""``defects_export``: settings → thresholds → masks + defects.jsonl → infer_config.json → evaluation."""

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines.defects_export.evaluation import evaluate_defects
from sdg_factory.pipelines.defects_export.nodes import (
    build_infer_config,
    defects_settings,
    export_defects,
    resolve_thresholds,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(defects_settings, ["params:defects_export", "defects_infer_config_input"], "defects_settings",
             name="defects_settings"),
        Node(resolve_thresholds, ["params:defects_export", "defects_infer_config_input", "defects_settings",
                                  "anomaly_maps_good", "anomaly_image_scores"], "defects_thresholds",
             name="resolve_thresholds"),
        Node(export_defects, ["anomaly_maps_defect", "anomaly_maps_good", "anomaly_image_scores",
                              "defects_thresholds", "defects_settings"],
             ["defect_masks_png", "defect_masks_npy", "defects_jsonl"], name="export_defects"),
        Node(build_infer_config, ["defects_settings", "defects_thresholds", "defects_infer_config_input",
                                  "anomaly_detector_models"], "defects_infer_config",
             name="export_infer_config"),
        Node(evaluate_defects, ["anomaly_maps_defect", "anomaly_maps_good", "anomaly_masks", "anomaly_labels",
                                "anomaly_image_scores", "defects_thresholds", "defects_settings",
                                "params:defects_export"], ["defects_metrics", "defects_metrics_plot"],
             name="evaluate_defects"),
    ])
