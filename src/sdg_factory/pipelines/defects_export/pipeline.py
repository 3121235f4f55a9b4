"""``defects_export``: settings → thresholds → masks + defects.jsonl → infer_config.json → evaluation."""

from kedro.pipeline import Pipeline

from sdg_factory.pipelines.defects_export import evaluation, nodes
from sdg_factory.pipelines.graph import DEFECTS, group, step


def create_pipeline(**kwargs) -> Pipeline:
    return group(DEFECTS, [
        step(nodes.defects_settings, ["params:defects_export", "defects.infer_config_input"], "defects.settings"),
        step(nodes.resolve_thresholds, ["params:defects_export", "defects.infer_config_input", "defects.settings",
                                        "defects.anomaly_maps_good", "defects.image_scores"], "defects.thresholds"),
        step(nodes.export_defects, ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "defects.image_scores",
                                    "defects.thresholds", "defects.settings"],
             ["defects.masks_png", "defects.masks_npy", "defects.defects_jsonl"]),
        step(nodes.build_infer_config, ["defects.settings", "defects.thresholds", "defects.infer_config_input",
                                        "defects.detector_models"], "defects.infer_config",
             name="export_infer_config"),
        step(evaluation.evaluate_defects, ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "anomaly_masks",
                                           "anomaly_labels", "defects.image_scores", "defects.thresholds",
                                           "defects.settings", "params:defects_export"],
             ["defects.metrics", "defects.metrics_plot"]),
    ])
