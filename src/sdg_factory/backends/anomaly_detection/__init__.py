"""Anomaly detection: fit on good images, give one anomaly map per image.

``build_anomaly_detector({"backend": "patch_stats", ...})`` — the embedded default, an aligned
patch-statistics detector that needs no weights —, ``{"backend": "golden_template", ...}`` —
each image against its own golden reference (no fitting) — or ``{"backend": "pyimgano", "model":
"vision_pixel_gaussian_map", "model_kwargs": {...}}`` for any pyimgano detector that produces
anomaly maps (anomalib models come through pyimgano's ``vision_anomalib_checkpoint``).
"""

from sdg_factory.backends.anomaly_detection.base import (
    ANOMALY_DETECTORS,
    AnomalyDetector,
    as_rgb,
    build_anomaly_detector,
    detector_from_state,
    detector_state,
    image_score,
    needs_fit,
    needs_golden,
    state_digest,
)

__all__ = ["ANOMALY_DETECTORS", "AnomalyDetector", "as_rgb", "build_anomaly_detector", "detector_from_state",
           "detector_state", "image_score", "needs_fit", "needs_golden", "state_digest"]
