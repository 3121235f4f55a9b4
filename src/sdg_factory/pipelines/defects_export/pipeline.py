"""``defects_export``: settings → thresholds → masks + defects.jsonl → infer_config.json → evaluation."""

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines.defects_export.evaluation import evaluate_defects
from sdg_factory.pipelines.defects_export.nodes import (
    build_infer_config,
    defects_settings,
    export_defects,
    resolve_thresholds,
)

#: one kedro-viz group (and one ``recompute=defects``) for anomaly_detection, defects_export, defects_infer
NS = "defects"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(defects_settings, ["params:defects_export", "defects.infer_config_input"], "defects.settings",
             name="defects_settings", namespace=NS),
        Node(resolve_thresholds, ["params:defects_export", "defects.infer_config_input", "defects.settings",
                                  "defects.anomaly_maps_good", "defects.image_scores"], "defects.thresholds",
             name="resolve_thresholds", namespace=NS),
        Node(export_defects, ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "defects.image_scores",
                              "defects.thresholds", "defects.settings"],
             ["defects.masks_png", "defects.masks_npy", "defects.defects_jsonl"], name="export_defects", namespace=NS),
        Node(build_infer_config, ["defects.settings", "defects.thresholds", "defects.infer_config_input",
                                  "defects.detector_models"], "defects.infer_config",
             name="export_infer_config", namespace=NS),
        Node(evaluate_defects, ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "anomaly_masks",
                                "anomaly_labels", "defects.image_scores", "defects.thresholds", "defects.settings",
                                "params:defects_export"], ["defects.metrics", "defects.metrics_plot"],
             name="evaluate_defects", namespace=NS),
    ])
