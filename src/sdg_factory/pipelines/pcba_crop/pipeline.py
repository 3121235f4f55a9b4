from kedro.pipeline import Pipeline, node

from sdg_factory.pipelines.pcba_crop.nodes import (
    crop_rois,
    merge_semantic_labels,
    resolve_crop_cookbook,
    summarize_crops,
)

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md)
NS = "pcba.crop"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(resolve_crop_cookbook,
             ["pcb_cookbooks", "params:board", "params:scene_filename", "params:dig_url_root",
              "params:run_name", "params:crop_max_emit"],
             "day0_crop_resolved", name="resolve_crop_cookbook", namespace=NS),
        node(merge_semantic_labels, "render_cells", "crop_semantic_labels", name="merge_semantic_labels", namespace=NS),
        node(crop_rois, ["render_cells", "day0_crop_resolved", "crop_semantic_labels"], "roi_crops",
             name="crop_rois", namespace=NS),
        node(summarize_crops, ["roi_crops", "crop_semantic_labels", "day0_crop_resolved"], "crop_summary",
             name="summarize_crops", namespace=NS),
    ])
