"""Finetune graph of pcba_texture_defect_day0.md: usd2roi-render → augment-image-edit →
finetune-job → anomaly-infer."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from sdg_factory.pipelines import good_image
from sdg_factory.pipelines.graph import group, step
from sdg_factory.pipelines.texture_defect_day0.pipeline import (
    NS,
    STAGING,
    inference_node,
    preflight_node,
    staging_node,
)
from sdg_factory.pipelines.texture_defect_day0_finetune.nodes import finetune_anomalygen, prepare_finetune_sets


def create_pipeline(**kwargs) -> Pipeline:
    return good_image.create_pipeline() + group(NS, [
        preflight_node("finetune", "anomaly_pretrained_model"),
        staging_node(),
        step(prepare_finetune_sets, STAGING + ["params:texture_defect_day0", "params:seed"],
             ["finetune_train", "finetune_validation"]),
        step(finetune_anomalygen, ["finetune_train", "finetune_validation", "anomaly_pretrained_model"] + STAGING[:3]
             + [STAGING[4], "params:texture_defect_day0", "params:seed"],
             ["finetune_checkpoint", "finetune_metrics"]),
        inference_node("finetune_checkpoint", "params:texture_defect_day0.finetune.inference_backend"),
    ])
