"""The reference-object pipeline: white background → perspectives → prompts → scene dataset →
generative augmentation → annotation (YOLO-seg) → CV augmentation, plus pipeline_state.json."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import step
from sdg_factory.pipelines.reference_object import nodes

P = "params:reference_object"
SEED = "params:seed"
NS = "reference_object"


def create_pipeline(**kwargs) -> Pipeline:
    # Kedro's namespace: node and dataset names become reference_object.<name>; the parameters stay
    return Pipeline([
        step(nodes.make_reference_mask, ["input_image", "input_mask", P], "reference_mask",
             name="reference_mask"),
        step(nodes.white_background, ["input_image", "reference_mask", P, SEED], "white_background",
             name="step1_white_background"),
        step(nodes.generate_perspectives, ["white_background", P, SEED], "perspectives",
             name="step2_perspectives"),
        step(nodes.generate_scene_prompts, ["project_info", "system_prompt", P, SEED], "prompts",
             name="step3_prompts"),
        step(nodes.generate_scene_dataset, ["perspectives", "prompts", "background_scenes", P, SEED],
             ["scene_dataset", "scene_metadata"], name="step4_dataset"),
        step(nodes.qwen_augment, ["scene_dataset", "augmentation_prompts", P, SEED],
             ["qwen_augmented_images", "qwen_augmentation_summary"], name="step5_qwen_augmentation"),
        step(nodes.combine_qwen_images, ["scene_dataset", "qwen_augmented_images", P],
             ["qwen_combined_images", "qwen_combined_summary"], name="step5_combine"),
        step(nodes.annotate_dataset, ["scene_dataset", "qwen_combined_images", "input_image",
                                      "reference_mask", P, SEED], "yolo_dataset",
             name="step6_annotation"),
        step(nodes.annotation_report, ["yolo_dataset", "scene_dataset", "qwen_combined_images", P],
             ["yolo_coco", "annotation_report"], name="step6_report"),
        step(nodes.cv_augment_dataset, ["yolo_dataset", P, SEED],
             ["cv_augmented_dataset", "cv_augmentation_summary"], name="step7_cv_augmentation"),
        step(nodes.combine_cv_dataset, ["yolo_dataset", "cv_augmented_dataset", P],
             ["cv_combined_dataset", "cv_combined_summary"], name="step7_combine"),
        step(nodes.record_pipeline_state,
             ["scene_metadata", "qwen_augmentation_summary", "scene_dataset", "qwen_augmented_images",
              "yolo_dataset", "cv_combined_dataset", "scene_manifest", "augment_manifest", P],
             "pipeline_state", name="pipeline_state"),
    ], namespace=NS, parameters={P, SEED})
