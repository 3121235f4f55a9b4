"""``bare_board_defects``: golden / defect pairs of a board's copper layer (bare-board AOI)."""

from sdg_factory.pipelines.bare_board_defects.pipeline import create_pipeline

__all__ = ["create_pipeline"]
