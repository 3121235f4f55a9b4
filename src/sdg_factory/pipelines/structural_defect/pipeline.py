from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.structural_defect.nodes import (
    collect_structural_labels,
    match_good_rois,
    pair_with_good_images,
    perturb_board_usd,
    plan_structural_defects,
    render_structural_cells,
)

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md)
NS = "structural_defect"


def create_pipeline(**kwargs) -> Pipeline:
    """good run's crops → plan → perturbed USD per mode → render affected cells + crop → labels → pairs."""
    return Pipeline([
        node(match_good_rois, ["roi_crops", "good_roi_records", "render_cells", "day0_crop_resolved"],
             "structural_candidates", name="match_good_rois", namespace=NS),
        node(plan_structural_defects,
             ["structural_candidates", "pcb_usd_assets", "pcba_target_resolved", "day0_image_resolved",
              "params:board", "params:structural_defect", "params:seed"],
             "structural_plan", name="plan_structural_defects", namespace=NS),
        node(perturb_board_usd, ["structural_plan", "pcb_usd_assets", "pcba_target_resolved", "params:board"],
             "structural_usd", name="perturb_board_usd", namespace=NS),
        node(render_structural_cells,
             ["structural_usd", "structural_plan", "render_metadata", "day0_image_resolved", "day0_crop_resolved",
              "params:seed", "params:render_backend", "params:pcba_render"],
             "structural_crops", name="render_structural_cells", namespace=NS),
        node(collect_structural_labels, "structural_crops", ["structural_labels", "structural_semantic_labels"],
             name="collect_structural_labels", namespace=NS),
        node(pair_with_good_images, ["structural_labels", "roi_crops"], "structural_pairs",
             name="pair_with_good_images", namespace=NS),
    ])
