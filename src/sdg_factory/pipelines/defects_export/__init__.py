"""``defects_export``: anomaly maps → pixel threshold (with provenance) → masks + defects.jsonl →
infer_config.json → evaluation against ground-truth defect masks."""

from sdg_factory.pipelines.defects_export.pipeline import create_pipeline

__all__ = ["create_pipeline"]
