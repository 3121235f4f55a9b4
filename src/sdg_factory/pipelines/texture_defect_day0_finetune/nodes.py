"""The finetune-job of pcba_texture_defect_day0.md: build the train / validation sets on the fly
(the document's ``prep_testcase``), finetune the inpainting pipeline, save the checkpoint.

Each example pairs a staged clean ROI with a raw sub-mask of one taxonomy entry: the sub-mask
is placed on the ROI as inference places it (:mod:`sdg_factory.imaging.defect_masks`), and the
defective target is the procedural synthesis inside that mask — the demo raw dataset ships
sub-masks, not defect photographs, so the generative model learns the procedural appearance
at exact masks and generalises it through its prior.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.backends.anomaly_generation.finetune import FinetuneError, InpaintExample, finetune_inpainting
from sdg_factory.datasets.model_folder import ModelArtifact
from sdg_factory.imaging.defect_masks import PlacementError, place_defect, semantic_regions
from sdg_factory.imaging.defect_synthesis import synthesize_defect
from sdg_factory.paths import check_segment
from sdg_factory.pipelines.texture_defect_day0.nodes import _clean_rgb, _validation_split
from sdg_factory.seeding import item_seed

logger = logging.getLogger(__name__)


def _placement(record: dict, load_cad, load_submask, labels: dict):
    regions = semantic_regions(load_cad(), labels)
    rng = np.random.default_rng(record["seed"])
    return place_defect(record["defect_type"], regions, np.asarray(load_submask()), rng), regions


def prepare_finetune_sets(staged_images: dict, staged_cad_masks: dict, staged_submasks: dict, staged_spec: list[dict],
                          semantic_labels: dict, params: dict, seed: int) -> tuple[list[dict], list[dict]]:
    """``train.jsonl`` and ``validation.jsonl``: per taxonomy entry, every non-blank sub-mask on a
    ROI of its material; the last ``validation_fraction`` of each entry's sub-masks is held out."""
    fraction = float(params.get("finetune", {}).get("validation_fraction", 0.2))
    prompts = params.get("prompts", {}) or {}
    train, validation = [], []
    for entry in staged_spec:
        material, defect = entry["material"], entry["defect_type"]
        folder = check_segment(material, "material")
        rois = sorted(s for s in staged_images if s.split("/")[0] == folder)
        masks = [p for p in sorted(staged_submasks) if p.startswith(f"{material}/mask/{defect}/")
                 and (np.asarray(staged_submasks[p]()) > 127).any()]
        if not rois:
            continue
        held_out = _validation_split(len(masks), fraction)
        for k, submask in enumerate(masks):
            for attempt in range(len(rois)):  # the first ROI this defect can be placed on
                staged = rois[(k + attempt) % len(rois)]
                record = {"partition_id": f"{staged}__{defect}__{submask.rsplit('/', 1)[-1]}",
                          "material": material, "defect_type": defect, "staged": staged, "submask": submask,
                          "prompt": prompts.get(defect, defect.replace("_", " "))}
                record["seed"] = item_seed(seed, "finetune/" + record["partition_id"])
                try:
                    _placement(record, staged_cad_masks[staged], staged_submasks[submask], semantic_labels)
                except PlacementError:
                    continue
                (validation if k >= len(masks) - held_out else train).append({**record, "split": (
                    "validation" if k >= len(masks) - held_out else "train")})
                break
    if not validation:
        raise FinetuneError(
            "ERROR: prep_testcase produced an empty validation.jsonl — the raw PCBA dataset has no training masks "
            "under <MATERIAL>/mask/<defect>/ that fit this run's ROIs (each taxonomy entry needs at least two "
            "non-blank sub-masks and a ROI of its material)")
    logger.info("finetune sets: %d train, %d validation examples", len(train), len(validation))
    return train, validation


def inpaint_example(record: dict, load_clean, load_cad, load_submask, labels: dict) -> InpaintExample:
    """One training pair: the clean ROI, the placed sub-mask and the defect painted inside it."""
    clean = _clean_rgb(load_clean())
    mask, regions = _placement(record, load_cad, load_submask, labels)
    target = synthesize_defect(record["defect_type"], clean, mask, regions,
                               np.random.default_rng(item_seed(record["seed"], "paint")))
    return InpaintExample(clean, mask, target, record["prompt"])


def finetune_anomalygen(train: list[dict], validation: list[dict], pretrained: Any, staged_images: dict,
                        staged_cad_masks: dict, staged_submasks: dict, semantic_labels: dict, params: dict,
                        seed: int) -> tuple[ModelArtifact, dict]:
    """The finetune-job: train the inpainting pipeline, return it (saved with save_pretrained
    under ``runs/<run>/finetune/checkpoint``) and its metrics."""
    config = dict(params.get("finetune", {}) or {})

    def examples(records):
        return [partial(inpaint_example, r, staged_images[r["staged"]], staged_cad_masks[r["staged"]],
                        staged_submasks[r["submask"]], semantic_labels) for r in records]

    pipe, metrics = finetune_inpainting(
        pretrained.local_path(), examples(train), examples(validation), method=config.get("method", "lora"),
        steps=int(config.get("steps", 1000)), learning_rate=float(config.get("learning_rate", 1e-4)),
        batch_size=int(config.get("batch_size", 4)), resolution=int(config.get("resolution", 512)),
        lora_rank=int(config.get("lora_rank", 8)), seed=int(seed) % (2**31), device=config.get("device", "auto"),
        mixed_precision=str(config.get("mixed_precision", "auto")), log_every=int(config.get("log_every", 50)))
    record = {"backend": "diffusers", "base_model": pretrained.url, "finetune": config,
              "validation_loss": metrics["validation_loss_after"]}
    return ModelArtifact(pipe, record), {**metrics, "base_model": pretrained.url}
