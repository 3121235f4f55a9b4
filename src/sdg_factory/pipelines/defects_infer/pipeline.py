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


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(prepare_detector, ["params:defects_infer", "defects_infer_deployed", "defects_infer_calibration",
                                "params:seed"],
             ["defects_infer_detector", "defects_infer_model", "defects_infer_fit_split",
              "defects_infer_fit_failures"], name="prepare_detector"),
        Node(infer_settings, ["params:defects_infer", "defects_infer_deployed"], "defects_infer_settings",
             name="infer_settings"),
        Node(resolve_thresholds, ["params:defects_infer", "defects_infer_settings", "defects_infer_deployed",
                                  "defects_infer_detector", "defects_infer_calibration", "defects_infer_fit_split"],
             ["defects_infer_thresholds", "defects_infer_calibration_failures"], name="resolve_infer_thresholds"),
        Node(infer_defects, ["defects_infer_detector", "defects_infer_input", "defects_infer_settings",
                             "defects_infer_thresholds", "params:defects_infer"],
             ["defects_infer_masks_png", "defects_infer_masks_npy", "defects_infer_jsonl",
              "defects_infer_eval_maps", "defects_infer_infer_failures"], name="infer_defects"),
        Node(build_infer_config, ["defects_infer_settings", "defects_infer_thresholds", "defects_infer_model"],
             "defects_infer_exported_config", name="build_infer_config"),
        Node(evaluate_defects, ["defects_infer_input", "defects_infer_jsonl", "defects_infer_eval_maps",
                                "defects_infer_thresholds", "params:defects_infer"],
             ["defects_infer_metrics", "defects_infer_evaluation_failures"], name="evaluate_infer_defects"),
        Node(collect_failures, ["defects_infer_fit_failures", "defects_infer_calibration_failures",
                                "defects_infer_infer_failures", "defects_infer_evaluation_failures"],
             "defects_infer_failures", name="collect_failures"),
    ])
