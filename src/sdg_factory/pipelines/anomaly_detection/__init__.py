"""``anomaly_detection``: fit a detector on good ROIs per material → anomaly maps and image scores."""

from sdg_factory.pipelines.anomaly_detection.pipeline import create_pipeline

__all__ = ["create_pipeline"]
