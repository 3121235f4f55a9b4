from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.pcba_render import nodes

NS = "pcba.render"

#: what resolving a cookbook reads (the render cookbooks here, the crop cookbook in pcba_crop)
COOKBOOK_INPUTS = ["pcb_cookbooks", "params:board", "params:scene_filename", "params:dig_url_root",
                   "params:run_name", "params:crop_max_emit"]


def create_pipeline(**kwargs) -> Pipeline:
    """board USD + cookbooks → resolved cookbooks → the scan grid rendered as a Replicator folder."""
    return group(NS, [
        step(nodes.resolve_render_cookbooks, COOKBOOK_INPUTS, ["pcba_target_resolved", "day0_image_resolved"]),
        step(nodes.render_scan_grid,
             ["pcb_usd_assets", "pcba_target_resolved", "day0_image_resolved", "params:board",
              "params:render_patches", "params:seed", "params:render_dir", "params:render_backend",
              "params:pcba_render"],
             ["render_cells", "render_metadata"]),
    ])
