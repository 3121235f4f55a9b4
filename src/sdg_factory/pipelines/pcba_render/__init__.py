"""``pcba_render``: usd2roi-render stage 1, the scan-grid render of a board USD."""

from sdg_factory.pipelines.pcba_render.pipeline import create_pipeline

__all__ = ["create_pipeline"]
