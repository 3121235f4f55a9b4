"""Passthrough graph of pcba_texture_defect_day0.md: usd2roi-render → augment-image-edit → anomaly-infer."""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from sdg_factory.pipelines import good_image
from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.texture_defect_day0.nodes import generate_anomalies, preflight_urls, stage_anomalygen_inputs

STAGING = ["anomaly_staging_images", "anomaly_staging_cad_masks", "anomaly_staging_submasks",
           "anomaly_staging_defect_spec", "anomaly_staging_semantic_labels"]
OUTPUTS = ["anomaly_images", "anomaly_masks", "anomaly_labels", "anomaly_summary"]


#: the clean ROIs the defects are painted on: the restyled crops (augment-image-edit)
CLEAN_CROPS = "augmented_crops"

#: these nodes are one group in kedro-viz and one `--namespaces` name (docs/architecture.md):
#: the document's AnomalyGen steps. Kedro runs the nodes of one topological group in name order,
#: and "anomalygen." sorts before "pcba.", so preflight_urls still runs first (before the cookbooks
#: are resolved) and a broken URL contract stops the run with the document's message.
NS = "anomalygen"


def preflight_node(mode: str, checkpoint: str) -> Node:
    func = update_wrapper(partial(preflight_urls, mode=mode), preflight_urls)  # named preflight_urls
    return step(func, ["pcb_usd_assets", "pcb_raw_defect_spec_files", "pcb_raw_submasks", checkpoint,
                       "params:anomaly_types_json", "params:texture_defect_day0", "params:board",
                       "params:dig_url_root"],
                "anomaly_preflight")


def staging_node() -> Node:
    return step(stage_anomalygen_inputs,
                ["anomaly_preflight", CLEAN_CROPS, "roi_crops", "pcb_raw_submasks", "crop_semantic_labels"], STAGING)


def inference_node(checkpoint: str, backend_param: str) -> Node:
    return step(generate_anomalies, STAGING[:4] + [STAGING[4], checkpoint, "params:texture_defect_day0",
                                                   backend_param, "params:seed"],
                OUTPUTS)


def create_pipeline(**kwargs) -> Pipeline:
    """good_image (render, crop, restyle) + preflight → stage → anomaly inference (labels inline)."""
    return good_image.create_pipeline() + group(NS, [
        preflight_node("passthrough", "anomaly_checkpoint"),
        staging_node(),
        inference_node("anomaly_checkpoint", "params:texture_defect_day0.backend"),
    ])
