"""``defects_infer``: own images in, defects out — any inspection folder (images/, golden/, good/,
boxes/, masks/) → anomaly maps → calibrated pixel threshold → masks + defects.jsonl →
infer_config.json with the saved detector → metrics when the folder has ground truth."""

from sdg_factory.pipelines.defects_infer.pipeline import create_pipeline

__all__ = ["create_pipeline"]
