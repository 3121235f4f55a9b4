from kedro.pipeline import Pipeline

from sdg_factory.pipelines.bare_board_defects.nodes import draw_bare_board_pairs
from sdg_factory.pipelines.graph import group, step

NS = "bare_board_defects"


def create_pipeline(**kwargs) -> Pipeline:
    """copper layer of the board's USD → golden / test pairs with masks and YOLO boxes."""
    return group(NS, [
        step(draw_bare_board_pairs,
             ["pcb_usd_assets", "params:board", "params:scene_filename", "params:bare_board_defects", "params:seed"],
             ["bare_board_images", "bare_board_golden", "bare_board_masks", "bare_board_boxes", "bare_board_classes"]),
    ])
