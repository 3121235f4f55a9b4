from kedro.pipeline import Pipeline

from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.pcba_crop import nodes
from sdg_factory.pipelines.pcba_render.pipeline import COOKBOOK_INPUTS

NS = "pcba.crop"


def create_pipeline(**kwargs) -> Pipeline:
    """render folder + cookbook → ROI crops per material and cell, their merged labels, a summary."""
    return group(NS, [
        step(nodes.resolve_crop_cookbook, COOKBOOK_INPUTS, "day0_crop_resolved"),
        step(nodes.merge_semantic_labels, "render_cells", "crop_semantic_labels"),
        step(nodes.crop_rois, ["render_cells", "day0_crop_resolved", "crop_semantic_labels"], "roi_crops"),
        step(nodes.summarize_crops, ["roi_crops", "crop_semantic_labels", "day0_crop_resolved"], "crop_summary"),
    ])
