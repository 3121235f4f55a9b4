"""Anomaly detection: fit on good images, give one anomaly map per image.

``build_anomaly_detector({"backend": "patch_stats", ...})`` — the embedded default, an aligned
patch-statistics detector that needs no weights — or ``{"backend": "pyimgano", "model":
"vision_pixel_gaussian_map", "model_kwargs": {...}}`` for any pyimgano detector that produces
anomaly maps (anomalib models come through pyimgano's ``vision_anomalib_checkpoint``).
"""

from sdg_factory.backends.anomaly_detection.base import (
    AnomalyDetector,
    as_rgb,
    build_anomaly_detector,
    image_score,
    register_anomaly_detector,
)

__all__ = ["AnomalyDetector", "as_rgb", "build_anomaly_detector", "image_score", "register_anomaly_detector"]
