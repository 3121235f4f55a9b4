"""pcba_restyle: the documents' augment-image-edit step (ROI crops → destination lighting style)."""

from sdg_factory.pipelines.pcba_restyle.pipeline import create_pipeline

__all__ = ["create_pipeline"]
