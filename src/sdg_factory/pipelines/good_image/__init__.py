"""``good_image``: clean PCBA ROIs — render → crop → image-edit restyle (the document's two task groups)."""

from sdg_factory.pipelines.good_image.pipeline import create_pipeline

__all__ = ["create_pipeline"]
