"""``scene_generation``: diverse archetype scene images with a history store (scene_generation_job.md)."""

from sdg_factory.pipelines.scene_generation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
