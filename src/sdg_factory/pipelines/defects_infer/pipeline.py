"""``defects_infer``: detector (saved or fitted) → thresholds → defects → infer_config → metrics."""

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines.defects_infer.nodes import (
    build_infer_config,
    collect_failures,
    evaluate_defects,
    infer_defects,
    infer_settings,
    prepare_detector,
    resolve_thresholds,
)

#: one kedro-viz group (and one ``recompute=defects``) for anomaly_detection, defects_export, defects_infer
NS = "defects"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(prepare_detector, ["params:defects_infer", "defects.infer_deployed", "defects.infer_calibration",
                                "params:seed"],
             ["defects.infer_model", "defects.infer_fit_split", "defects.infer_fit_failures"],
             name="prepare_detector", namespace=NS),
        Node(infer_settings, ["params:defects_infer", "defects.infer_deployed"], "defects.infer_settings",
             name="infer_settings", namespace=NS),
        Node(resolve_thresholds, ["params:defects_infer", "defects.infer_settings", "defects.infer_deployed",
                                  "defects.infer_model", "defects.infer_calibration", "defects.infer_fit_split"],
             ["defects.infer_thresholds", "defects.infer_calibration_failures"], name="resolve_infer_thresholds",
             namespace=NS),
        Node(infer_defects, ["defects.infer_model", "defects.infer_input", "defects.infer_settings",
                             "defects.infer_thresholds", "params:defects_infer", "defects.infer_calibration",
                             "defects.infer_fit_split"],
             ["defects.infer_masks_png", "defects.infer_masks_npy", "defects.infer_jsonl",
              "defects.infer_eval_maps", "defects.infer_infer_failures"], name="infer_defects", namespace=NS),
        Node(build_infer_config, ["defects.infer_settings", "defects.infer_thresholds", "defects.infer_model"],
             "defects.infer_exported_config", name="build_infer_config", namespace=NS),
        Node(evaluate_defects, ["defects.infer_input", "defects.infer_jsonl", "defects.infer_eval_maps",
                                "defects.infer_thresholds", "params:defects_infer"],
             ["defects.infer_metrics", "defects.infer_evaluation_failures"], name="evaluate_infer_defects",
             namespace=NS),
        Node(collect_failures, ["defects.infer_fit_failures", "defects.infer_calibration_failures",
                                "defects.infer_infer_failures", "defects.infer_evaluation_failures"],
             "defects.infer_failures", name="collect_failures", namespace=NS),
    ])
