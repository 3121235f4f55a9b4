"""``texture_defect_day0``: good_image → preflight → stage AnomalyGen inputs → anomaly inference
(passthrough: the checkpoint under ``<dig_url_root>/models/pcb``)."""

from sdg_factory.pipelines.texture_defect_day0.pipeline import create_pipeline

__all__ = ["create_pipeline"]
