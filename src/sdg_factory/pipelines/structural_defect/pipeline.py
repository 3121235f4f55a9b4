from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.structural_defect import nodes

NS = "structural_defect"


def create_pipeline(**kwargs) -> Pipeline:
    """good run's crops → plan → perturbed USD per mode → render affected cells + crop → labels → pairs."""
    return group(NS, [
        step(nodes.match_good_rois, ["roi_crops", "good_roi_records", "render_cells", "day0_crop_resolved"],
             "structural_candidates"),
        step(nodes.plan_structural_defects,
             ["structural_candidates", "pcb_usd_assets", "pcba_target_resolved", "day0_image_resolved",
              "params:board", "params:structural_defect", "params:seed"],
             "structural_plan"),
        step(nodes.perturb_board_usd, ["structural_plan", "pcb_usd_assets", "pcba_target_resolved", "params:board"],
             "structural_usd"),
        step(nodes.render_structural_cells,
             ["structural_usd", "structural_plan", "render_metadata", "day0_image_resolved", "day0_crop_resolved",
              "params:seed", "params:render_backend", "params:pcba_render"],
             "structural_crops"),
        step(nodes.collect_structural_labels, "structural_crops", ["structural_labels", "structural_semantic_labels"]),
        step(nodes.pair_with_good_images, ["structural_labels", "roi_crops"], "structural_pairs"),
    ])
