"""Reference-object pipeline (``reference_object_pipeline.md``): one image to a YOLO-seg dataset."""

from sdg_factory.pipelines.reference_object.pipeline import create_pipeline

__all__ = ["create_pipeline"]
