"""Nodes of ``anomaly_detection`` (DESIGN §1: "fit detector on good ROIs → anomaly maps").

Per material: the good ROIs are split into a fitting set and a held-out set; a detector is
fitted on the first and saved (``defects/model/<MAT>.npz``); anomaly maps are written for every
texture-defect image and every held-out good ROI (the normal maps that calibrate the pixel
threshold and the negatives of the evaluation); each map gets an image score. The run's
folders are read as ``defects_infer`` reads an inspection folder (:func:`synthetic_folder`),
with its fitting and mapping functions.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.backends.anomaly_detection import (
    build_anomaly_detector,
    detector_from_state,
    detector_state,
    image_score,
)
from sdg_factory.fingerprints import per_item
from sdg_factory.pipelines.defects_infer.nodes import fit_on_good, map_of
from sdg_factory.seeding import item_seed

logger = logging.getLogger(__name__)


def material_of(partition_id: str) -> str:
    return partition_id.split("/", 1)[0]


def defect_bases(anomaly_labels: list[dict]) -> set[str]:
    """Good-ROI partition ids (``MAT/cell/stem``) that defect images were made from."""
    return {f"{r['material']}/{r['cell']}/{r['stem']}" for r in anomaly_labels
            if all(r.get(k) is not None for k in ("material", "cell", "stem"))}


def split_good_rois(augmented_crops: dict[str, Callable], anomaly_labels: list[dict],
                    params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Per material: held-out ROIs (a seeded ``holdout_fraction``) and the ROIs to fit on.

    With ``exclude_defect_bases``, a good ROI that a defect image was made from is held out
    too, so the detector never saw the defect-free twin of an image it scores — unless that
    would leave fewer than ``min_fit_images`` to fit on (then it is recorded as a leak).
    """
    bases = defect_bases(anomaly_labels) if params.get("exclude_defect_bases", True) else set()
    by_material: dict[str, list[str]] = {}
    for pid in sorted(augmented_crops):
        by_material.setdefault(material_of(pid), []).append(pid)
    if not by_material:
        raise ValueError("anomaly_detection: no good ROIs in 'augmented_crops' (augment/crop/<MAT>/<cell>/NNNN.png); "
                         "run the pipeline that writes them first")
    materials = {}
    for material, pids in by_material.items():
        ranked = sorted(pids, key=lambda p: item_seed(seed, p))
        k = min(len(pids) - 1, max(1, round(float(params.get("holdout_fraction", 0.25)) * len(pids))))
        holdout, fit = set(ranked[:k]), [p for p in ranked[k:]]
        clean = [p for p in fit if p not in bases]
        leak = 0
        if len(clean) >= int(params.get("min_fit_images", 2)):
            holdout |= set(fit) - set(clean)
            fit = clean
        else:
            leak = len(fit) - len(clean)
            if leak:
                logger.warning("anomaly_detection: material %s keeps %d defect base ROI(s) in its fitting set "
                               "(only %d other good ROIs)", material, leak, len(clean))
        materials[material] = {"fit": sorted(fit), "holdout": sorted(holdout), "defect_bases_in_fit": leak}
    return {"seed": int(seed), "materials": materials}


def synthetic_folder(augmented_crops: dict[str, Callable], anomaly_images: dict[str, Callable],
                     split: dict[str, Any], material: str) -> dict[str, Any]:
    """One material of the run's synthetic defects in the inspection-folder layout of
    ``defects_infer`` (docs/formats.md): ``images/defect/<id>`` its texture-defect images,
    ``images/good/<id>`` its held-out good ROIs, ``good/<id>`` the good ROIs to fit on. The
    loaders are the run's own (nothing is copied), so ``defects_infer``'s fitting and mapping
    functions read the run's folders as they read a user's."""
    sets = split["materials"][material]
    images = {f"defect/{pid}": load for pid, load in anomaly_images.items() if material_of(pid) == material}
    images.update({f"good/{pid}": augmented_crops[pid] for pid in sets["holdout"]})
    return {"root": f"runs/<run_name> ({material})", "images": images,
            "image_files": {i: f"anomaly/images/{i.removeprefix('defect/')}.png" if i.startswith("defect/")
                            else f"augment/crop/{i.removeprefix('good/')}.png" for i in images},
            "golden": {}, "golden_files": {}, "good": {pid: augmented_crops[pid] for pid in sets["fit"]},
            "boxes": {}, "masks": {}, "classes": None, "problems": []}


def fit_detectors(augmented_crops: dict[str, Callable], split: dict[str, Any],
                  detector_params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One detector per material, fitted on its fitting set: its saved state (``defects/model/<MAT>.npz``).

    Saved and fingerprinted, so an unchanged re-run skips this node (no refit) and the mapping
    nodes reload the detectors from their files."""
    states = {}
    for material in split["materials"]:
        folder = synthetic_folder(augmented_crops, {}, split, material)
        detector = build_anomaly_detector(detector_params)
        fit_on_good(detector, folder, sorted(folder["good"]))
        states[material] = detector_state(detector)
    return states


def detectors_from(detector_models: dict[str, Callable], augmented_crops: dict[str, Callable],
                   split: dict[str, Any]) -> dict[str, Any]:
    """The fitted detectors again, from their saved states. A backend whose fitted model cannot be
    saved without a pickle (pyimgano) keeps its settings only: it is fitted again on the same set."""
    detectors = {}
    for material, load in sorted(detector_models.items()):
        state = load()
        if state.get("fitted_state_saved", True):
            detectors[material] = detector_from_state(state)
            continue
        detectors[material] = build_anomaly_detector({"backend": state["backend"], **state["settings"]})
        folder = synthetic_folder(augmented_crops, {}, split, material)
        fit_on_good(detectors[material], folder, sorted(folder["good"]))
    return detectors


def _check_materials(detector_models: dict[str, Any], pids: Any) -> None:
    for pid in pids:
        material = material_of(pid)
        if material not in detector_models:
            raise ValueError(f"anomaly_detection: '{pid}' is of material {material!r}, which has no good ROIs "
                             f"to fit a detector on (materials with good ROIs: {sorted(detector_models)})")


@per_item("anomaly_images")
def map_defect_images(detector_models: dict[str, Callable], anomaly_images: dict[str, Callable],
                      augmented_crops: dict[str, Callable], split: dict[str, Any]) -> dict[str, Callable]:
    """Lazy anomaly maps of the texture-defect images (same ids: ``MAT/cell__stem__defect``)."""
    if not anomaly_images:
        raise ValueError("anomaly_detection: no images in 'anomaly_images' (anomaly/images/<MAT>/...png); "
                         "run the texture-defect pipeline first")
    _check_materials(detector_models, anomaly_images)
    detectors = detectors_from(detector_models, augmented_crops, split)
    return {pid: partial(map_of, detectors[material_of(pid)], load) for pid, load in anomaly_images.items()}


@per_item("augmented_crops")
def map_held_out_rois(detector_models: dict[str, Callable], augmented_crops: dict[str, Callable],
                      split: dict[str, Any]) -> dict[str, Callable]:
    """Lazy anomaly maps of the held-out good ROIs (same ids: ``MAT/cell/NNNN``)."""
    detectors = detectors_from(detector_models, augmented_crops, split)
    return {pid: partial(map_of, detectors[material], augmented_crops[pid])
            for material, sets in split["materials"].items() for pid in sets["holdout"]}


def image_scores(defect_maps: dict[str, Callable], good_maps: dict[str, Callable],
                 params: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per map: kind, id, material, run-relative paths and the image score."""
    top = float(params.get("score_top_fraction", 0.01))
    records = []
    for kind, maps, source in (("defect", defect_maps, "anomaly/images"), ("good", good_maps, "augment/crop")):
        for pid in sorted(maps):
            records.append({
                "kind": kind,
                "id": pid,
                "material": material_of(pid),
                "input": posixpath.join(source, pid + ".png"),
                "anomaly_map": posixpath.join("defects/anomaly_maps", kind, pid + ".npy"),
                "score": _finite_or_none(image_score(maps[pid](), top)),
            })
    return records


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
