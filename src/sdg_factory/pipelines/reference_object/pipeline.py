"""The reference-object pipeline: white background → perspectives → prompts → scene dataset →
generative augmentation → annotation (YOLO-seg) → CV augmentation, plus pipeline_state.json."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.reference_object import nodes

P = "params:reference_object"
SEED = "params:seed"
NS = "reference_object"


def create_pipeline(**kwargs) -> Pipeline:
    d = f"{NS}."  # dataset names: reference_object.<name>
    return Pipeline([
        node(nodes.make_reference_mask, [d + "input_image", d + "input_mask", P], d + "reference_mask",
             name="reference_mask", namespace=NS),
        node(nodes.white_background, [d + "input_image", d + "reference_mask", P, SEED], d + "white_background",
             name="step1_white_background", namespace=NS),
        node(nodes.generate_perspectives, [d + "white_background", P, SEED], d + "perspectives",
             name="step2_perspectives", namespace=NS),
        node(nodes.generate_scene_prompts, [d + "project_info", d + "system_prompt", P, SEED], d + "prompts",
             name="step3_prompts", namespace=NS),
        node(nodes.generate_scene_dataset, [d + "perspectives", d + "prompts", d + "background_scenes", P, SEED],
             [d + "scene_dataset", d + "scene_metadata"], name="step4_dataset", namespace=NS),
        node(nodes.qwen_augment, [d + "scene_dataset", d + "augmentation_prompts", P, SEED],
             [d + "qwen_augmented_images", d + "qwen_augmentation_summary"], name="step5_qwen_augmentation",
             namespace=NS),
        node(nodes.combine_qwen_images, [d + "scene_dataset", d + "qwen_augmented_images", P],
             [d + "qwen_combined_images", d + "qwen_combined_summary"], name="step5_combine", namespace=NS),
        node(nodes.annotate_dataset, [d + "scene_dataset", d + "qwen_combined_images", d + "input_image",
                                      d + "reference_mask", P, SEED], d + "yolo_dataset",
             name="step6_annotation", namespace=NS),
        node(nodes.annotation_report, [d + "yolo_dataset", d + "scene_dataset", d + "qwen_combined_images", P],
             [d + "yolo_coco", d + "annotation_report"], name="step6_report", namespace=NS),
        node(nodes.cv_augment_dataset, [d + "yolo_dataset", P, SEED],
             [d + "cv_augmented_dataset", d + "cv_augmentation_summary"], name="step7_cv_augmentation",
             namespace=NS),
        node(nodes.combine_cv_dataset, [d + "yolo_dataset", d + "cv_augmented_dataset", P],
             [d + "cv_combined_dataset", d + "cv_combined_summary"], name="step7_combine", namespace=NS),
        node(nodes.record_pipeline_state,
             [d + "scene_metadata", d + "qwen_augmentation_summary", d + "scene_dataset", d + "qwen_augmented_images",
              d + "yolo_dataset", d + "cv_combined_dataset", d + "scene_manifest", d + "augment_manifest", P],
             d + "pipeline_state", name="pipeline_state", namespace=NS),
    ])
