"""``texture_defect_day0_finetune``: good_image → preflight → stage → finetune → anomaly inference
with the fresh checkpoint under ``runs/<run_name>/finetune``."""

from sdg_factory.pipelines.texture_defect_day0_finetune.pipeline import create_pipeline

__all__ = ["create_pipeline"]
