from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.pcba_render.nodes import render_scan_grid, resolve_render_cookbooks

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md)
NS = "pcba.render"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(resolve_render_cookbooks,
             ["pcb_cookbooks", "params:board", "params:scene_filename", "params:dig_url_root",
              "params:run_name", "params:crop_max_emit"],
             ["pcba_target_resolved", "day0_image_resolved"], name="resolve_render_cookbooks", namespace=NS),
        node(render_scan_grid,
             ["pcb_usd_assets", "pcba_target_resolved", "day0_image_resolved", "params:board",
              "params:render_patches", "params:seed", "params:render_dir", "params:render_backend",
              "params:pcba_render"],
             ["render_cells", "render_metadata"], name="render_scan_grid", namespace=NS),
    ])
