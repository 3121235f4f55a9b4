"""``anomaly_detection``: split good ROIs → fit per material (saved) → anomaly maps → image scores."""

from kedro.pipeline import Pipeline

from sdg_factory.pipelines.anomaly_detection import nodes
from sdg_factory.pipelines.graph import DEFECTS, group, step


def create_pipeline(**kwargs) -> Pipeline:
    return group(DEFECTS, [
        step(nodes.split_good_rois, ["augmented_crops", "anomaly_labels", "params:anomaly_detection", "params:seed"],
             "defects.detector_split"),
        step(nodes.fit_detectors, ["augmented_crops", "defects.detector_split", "params:anomaly_detection.detector"],
             "defects.detector_models"),
        step(nodes.map_defect_images,
             ["defects.detector_models", "anomaly_images", "augmented_crops", "defects.detector_split"],
             "defects.anomaly_maps_defect"),
        step(nodes.map_held_out_rois, ["defects.detector_models", "augmented_crops", "defects.detector_split"],
             "defects.anomaly_maps_good"),
        step(nodes.image_scores,
             ["defects.anomaly_maps_defect", "defects.anomaly_maps_good", "params:anomaly_detection"],
             "defects.image_scores"),
    ])
