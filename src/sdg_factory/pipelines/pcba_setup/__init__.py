"""``pcba_setup``: publish the demo boards and raw defect data under the URL contract."""

from sdg_factory.pipelines.pcba_setup.pipeline import create_pipeline

__all__ = ["create_pipeline"]
