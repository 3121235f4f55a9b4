"""``anomaly_detection``: split good ROIs → fit per material (saved) → anomaly maps → image scores."""

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines.anomaly_detection.nodes import (
    fit_detectors,
    image_scores,
    map_defect_images,
    map_held_out_rois,
    split_good_rois,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(split_good_rois, ["augmented_crops", "anomaly_labels", "params:anomaly_detection", "params:seed"],
             "anomaly_detection_split", name="split_good_rois"),
        Node(fit_detectors, ["augmented_crops", "anomaly_detection_split", "params:anomaly_detection.detector"],
             "anomaly_detector_models", name="fit_detectors"),
        Node(map_defect_images, ["anomaly_detector_models", "anomaly_images", "augmented_crops",
                                 "anomaly_detection_split"], "anomaly_maps_defect", name="map_defect_images"),
        Node(map_held_out_rois, ["anomaly_detector_models", "augmented_crops", "anomaly_detection_split"],
             "anomaly_maps_good", name="map_held_out_rois"),
        Node(image_scores, ["anomaly_maps_defect", "anomaly_maps_good", "params:anomaly_detection"],
             "anomaly_image_scores", name="image_scores"),
    ])
