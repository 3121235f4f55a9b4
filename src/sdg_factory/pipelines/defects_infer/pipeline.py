"""``defects_infer``: detector (saved or fitted) → thresholds → defects → infer_config → metrics."""

from kedro.pipeline import Pipeline

from sdg_factory.pipelines.defects_infer import nodes
from sdg_factory.pipelines.graph import DEFECTS, group, step


def create_pipeline(**kwargs) -> Pipeline:
    return group(DEFECTS, [
        step(nodes.prepare_detector, ["params:defects_infer", "defects.infer_deployed", "defects.infer_calibration",
                                      "params:seed"],
             ["defects.infer_model", "defects.infer_fit_split", "defects.infer_fit_failures"]),
        step(nodes.infer_settings, ["params:defects_infer", "defects.infer_deployed"], "defects.infer_settings"),
        step(nodes.resolve_thresholds, ["params:defects_infer", "defects.infer_settings", "defects.infer_deployed",
                                        "defects.infer_model", "defects.infer_calibration", "defects.infer_fit_split"],
             ["defects.infer_thresholds", "defects.infer_calibration_failures"], name="resolve_infer_thresholds"),
        step(nodes.infer_defects, ["defects.infer_model", "defects.infer_input", "defects.infer_settings",
                                   "defects.infer_thresholds", "params:defects_infer", "defects.infer_calibration",
                                   "defects.infer_fit_split"],
             ["defects.infer_masks_png", "defects.infer_masks_npy", "defects.infer_jsonl",
              "defects.infer_eval_maps", "defects.infer_infer_failures"]),
        step(nodes.build_infer_config, ["defects.infer_settings", "defects.infer_thresholds", "defects.infer_model"],
             "defects.infer_exported_config"),
        step(nodes.evaluate_defects, ["defects.infer_input", "defects.infer_jsonl", "defects.infer_eval_maps",
                                      "defects.infer_thresholds", "params:defects_infer"],
             ["defects.infer_metrics", "defects.infer_evaluation_failures"], name="evaluate_infer_defects"),
        step(nodes.collect_failures, ["defects.infer_fit_failures", "defects.infer_calibration_failures",
                                      "defects.infer_infer_failures", "defects.infer_evaluation_failures"],
             "defects.infer_failures"),
    ])
