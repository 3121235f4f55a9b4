"""``structural_defect``: shift / tombstone / sideflip pose defects from the board USD, paired with good images."""

from sdg_factory.pipelines.structural_defect.pipeline import create_pipeline

__all__ = ["create_pipeline"]
