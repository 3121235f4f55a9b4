"""``anomaly_detection``: split good ROIs → fit per material (saved) → anomaly maps → image scores."""

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines.anomaly_detection.nodes import (
    fit_detectors,
    image_scores,
    map_defect_images,
    map_held_out_rois,
    split_good_rois,
)

#: one kedro-viz group (and one ``recompute=defects``) for anomaly_detection, defects_export, defects_infer
NS = "defects"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(split_good_rois, ["augmented_crops", "anomaly_labels", "params:anomaly_detection", "params:seed"],
             "defects.detector_split", name="split_good_rois", namespace=NS),
        Node(fit_detectors, ["augmented_crops", "defects.detector_split", "params:anomaly_detection.detector"],
             "defects.detector_models", name="fit_detectors", namespace=NS),
        Node(map_defect_images, ["defects.detector_models", "anomaly_images", "augmented_crops",
                                 "defects.detector_split"], "defects.anomaly_maps_defect",
             name="map_defect_images", namespace=NS),
        Node(map_held_out_rois, ["defects.detector_models", "augmented_crops", "defects.detector_split"],
             "defects.anomaly_maps_good", name="map_held_out_rois", namespace=NS),
        Node(image_scores, ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "params:anomaly_detection"],
             "defects.image_scores", name="image_scores", namespace=NS),
    ])
