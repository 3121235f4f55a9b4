"""``pcba_crop``: usd2roi stage 2, ROI crops from any Replicator render folder."""

from sdg_factory.pipelines.pcba_crop.pipeline import create_pipeline

__all__ = ["create_pipeline"]
