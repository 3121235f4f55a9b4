"""Nodes of ``defects_export`` — one per section of the defects-export design document.

- settings: explicit parameters > an ``infer_config.json`` handed back as input > defaults;
- thresholds: the pixel threshold by the document's resolution order, with
  ``pixel_threshold_provenance``, and the image threshold that labels inputs;
- export: a mask per input and one ``defects.jsonl`` line per input in the document's schema;
- ``infer_config.json`` with the document's ``defects`` block;
- evaluation against the ground-truth defect masks (in ``evaluation.py``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.defects import (
    defects_record,
    export_infer_config,
    extract_defects,
    merge_settings,
    resolve_pixel_threshold,
)
from sdg_factory.pipelines.defects_infer.nodes import image_threshold, model_block

RUN_RELATIVE_MAPS = "defects/anomaly_maps"
RUN_RELATIVE_MASKS = "defects/masks"


def defects_settings(params: dict[str, Any], infer_config_input: dict | None) -> dict[str, Any]:
    """The effective defects settings (see ``sdg_factory.defects.config.merge_settings``)."""
    return merge_settings(params, infer_config_input, params_source="parameters defects_export",
                          infer_config_source="input infer_config.json (defects_infer_config)")


def _maps(loaders: dict[str, Callable]) -> Iterator[np.ndarray]:
    for pid in sorted(loaders):
        yield loaders[pid]()


def resolve_thresholds(params: dict[str, Any], infer_config_input: dict | None, settings: dict[str, Any],
                       good_maps: dict[str, Callable], image_scores: list[dict]) -> dict[str, Any]:
    """Pixel threshold (document order, calibrated on the held-out good maps when it comes to
    that) and image threshold (explicit → infer_config ``threshold`` → quantile of good scores)."""
    pixel = resolve_pixel_threshold(
        pixel_threshold=params.get("pixel_threshold"),
        pixel_threshold_strategy=settings["pixel_threshold_strategy"],
        infer_config=infer_config_input,
        calibration_maps=_maps(good_maps),
        pixel_normal_quantile=settings["pixel_normal_quantile"],
        roi_xyxy_norm=settings["roi_xyxy_norm"],
        calibration_source=f"{RUN_RELATIVE_MAPS}/good",
    )
    image, image_provenance = image_threshold(params, infer_config_input,
                                              [r["score"] for r in image_scores if r["kind"] == "good"],
                                              "anomaly_image_scores")
    return {"pixel_threshold": pixel.pixel_threshold,
            "pixel_threshold_provenance": pixel.pixel_threshold_provenance,
            "threshold": image, "threshold_provenance": image_provenance}


def _extract(load: Callable[[], np.ndarray], pixel_threshold: float, settings: dict[str, Any]) -> dict[str, Any]:
    return extract_defects(
        load(), pixel_threshold=pixel_threshold, roi_xyxy_norm=settings["roi_xyxy_norm"],
        open_ksize=settings["open_ksize"], close_ksize=settings["close_ksize"],
        fill_holes=settings["fill_holes"], min_area=settings["min_area"], max_regions=settings["max_regions"],
    )


def _mask_of(load: Callable[[], np.ndarray], pixel_threshold: float, settings: dict[str, Any]) -> np.ndarray:
    return _extract(load, pixel_threshold, settings)["mask"]


def export_defects(defect_maps: dict[str, Callable], good_maps: dict[str, Callable], image_scores: list[dict],
                   thresholds: dict[str, Any], settings: dict[str, Any]
                   ) -> tuple[dict[str, Callable], dict[str, Callable], list[dict[str, Any]]]:
    """Masks (lazy, in ``mask_format``) and one ``defects.jsonl`` record per input.

    Inputs are the texture-defect images, then the held-out good ROIs; mask ids are
    ``defect/<id>`` and ``good/<id>``; every path in a record is relative to the run folder.
    """
    scores = {(r["kind"], r["id"]): r for r in image_scores}
    fmt = settings["mask_format"]
    pixel_threshold, image_threshold = thresholds["pixel_threshold"], thresholds["threshold"]
    masks: dict[str, Callable] = {}
    records = []
    for kind, maps in (("defect", defect_maps), ("good", good_maps)):
        for pid in sorted(maps):
            score = scores[(kind, pid)]
            record: dict[str, Any] = {"index": len(records), "input": score["input"], "score": score["score"]}
            if image_threshold is not None and score["score"] is not None:
                record["label"] = int(score["score"] >= image_threshold)
            amap = maps[pid]()
            record["anomaly_map"] = {"path": score["anomaly_map"], "shape": list(amap.shape), "dtype": str(amap.dtype)}
            if settings["enabled"]:
                result = _extract(lambda a=amap: a, pixel_threshold, settings)
                mask_id = f"{kind}/{pid}"
                record["defects"] = defects_record(
                    result, pixel_threshold_provenance=thresholds["pixel_threshold_provenance"],
                    mask_path=posixpath.join(RUN_RELATIVE_MASKS, f"{mask_id}.{fmt}"), mask_format=fmt)
                masks[mask_id] = partial(_mask_of, maps[pid], pixel_threshold, settings)
            records.append(record)
    return (masks if fmt == "png" else {}), (masks if fmt == "npy" else {}), records


def build_infer_config(settings: dict[str, Any], thresholds: dict[str, Any], infer_config_input: dict | None,
                       detector_models: dict[str, Callable]) -> dict[str, Any]:
    """``infer_config.json``: the input one (if any) with the document's ``defects`` block, the
    image threshold and the saved detectors that made the maps (``model/<MAT>.npz`` by ``sha256``;
    with one material, ``model`` names it as ``defects_infer`` does, so ``defects_infer
    --params infer_config=runs/<r>/defects/infer_config.json`` deploys it)."""
    base = dict(infer_config_input or {})
    if "model" not in base:
        states = {material: load() for material, load in sorted(detector_models.items())}
        blocks = {material: model_block(state, f"model/{material}.npz") for material, state in states.items()}
        first = next(iter(blocks.values()), {"backend": "patch_stats", "settings": {}})
        base["model"] = {**first, "materials": blocks} if len(blocks) == 1 else {
            "backend": first["backend"], "settings": first["settings"], "materials": blocks}
    if thresholds["threshold"] is not None:
        base["threshold"] = thresholds["threshold"]
        base["threshold_provenance"] = thresholds["threshold_provenance"]
    return export_infer_config(settings, pixel_threshold=thresholds["pixel_threshold"],
                               pixel_threshold_provenance=thresholds["pixel_threshold_provenance"], base=base)
