"""Nodes of ``defects_infer``: the defects-export document applied to any inspection folder.

- **prepare_detector**: a saved detector from an ``infer_config.json`` (no refitting), or the
  configured one, fitted on ``<calib_dir>/good/`` when it learns from good images; saved
  (``model/detector.npz``), and the nodes after it load it from there, so an unchanged re-run
  skips the fit;
- **resolve_thresholds**: the document's order — explicit → infer_config → calibration → error —
  where calibration is ``labelled_f1`` when the calibration folder has ``boxes/`` or ``masks/``
  (threshold and ``min_area`` that maximise region F1) and ``normal_pixel_quantile`` otherwise;
- **infer_defects**: a map per image of ``<input_dir>/images/``, then the mask, regions and one
  ``defects.jsonl`` line (the document's schema) per image;
- **build_infer_config**: the deployable ``infer_config.json`` naming the saved detector;
- **evaluate_defects**: region precision / recall / F1 at IoU > ``iou_threshold`` (class-agnostic
  and per class) and pixel AUROC / AUPRO, when the input folder has ground truth;
- **collect_failures**: every item that could not be processed, named by id and file.

A bad item (unreadable image, golden missing, boxes out of range) is reported and skipped; the
others are processed. Images are never written back to the user's folders. Each node reads only
the parameters it uses (``@reads_parameters``): a threshold setting changed does not refit the
detector, and the settings of a detector that is not chosen change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from kedro.io import DatasetError

from sdg_factory.backends import anomaly_detection as detectors
from sdg_factory.backends.accelerator import ModelCache
from sdg_factory.datasets.inspection_folder import InspectionItemError
from sdg_factory.defects import (
    defects_record,
    export_infer_config,
    extract_defects,
    merge_settings,
    resolve_pixel_threshold,
)
from sdg_factory.defects.config import settings_from_infer_config
from sdg_factory.defects.labelled_f1 import labelled_f1_threshold
from sdg_factory.defects.metrics import (
    aupro,
    auroc,
    mask_boxes_xyxy,
    region_boxes_xyxy,
    region_detection,
    yolo_boxes_xyxy,
)
from sdg_factory.fingerprints import reads_parameters
from sdg_factory.imaging.golden_template import GoldenTemplateError
from sdg_factory.seeding import item_seed

logger = logging.getLogger(__name__)

RUN_RELATIVE_MASKS = "defects_infer/masks"
#: where the catalog's ``defects.infer_model`` lies, relative to ``infer_config.json``'s folder
MODEL_RELATIVE_PATH = "model/detector.npz"
ITEM_ERRORS = (DatasetError, GoldenTemplateError, ValueError, cv2.error)
EXTRACT_KEYS = ("roi_xyxy_norm", "open_ksize", "close_ksize", "fill_holes", "min_area", "max_regions")


# --- items ---------------------------------------------------------------------------------------
def _failure(folder: dict, item_id: str, exc: Exception, stage: str, default_file: str) -> dict[str, str]:
    file = getattr(exc, "file", None) or default_file
    reason = getattr(exc, "reason", None) or str(exc)
    logger.error("defects_infer (%s): item '%s' (%s/%s) skipped: %s", stage, item_id, folder["root"], file, reason)
    return {"stage": stage, "folder": folder["root"], "id": item_id, "file": file, "error": reason}


def _listing_failures(folder: dict | None, stage: str) -> list[dict[str, str]]:
    if not folder:
        return []
    return [{"stage": stage, "folder": folder["root"], **p} for p in folder["problems"]]


def map_of(detector: Any, load_image: Callable[[], np.ndarray],
           load_golden: Callable[[], np.ndarray] | None = None) -> np.ndarray:
    """The ``float32`` anomaly map of one image (against its golden for a golden-based detector)."""
    image = load_image()
    if load_golden is not None:
        return np.asarray(detector.anomaly_maps([image], [load_golden()])[0], np.float32)
    return np.asarray(detector.anomaly_maps([image])[0], np.float32)


def _map_of(detector: Any, folder: dict, item_id: str) -> np.ndarray:
    if not detectors.needs_golden(detector):
        return map_of(detector, folder["images"][item_id])
    if item_id not in folder["golden"]:
        folder["images"][item_id]()  # an unreadable image is reported as such first
        raise InspectionItemError(f"no golden reference: {detector.name} compares each image with "
                                  f"{folder['root']}/golden/{item_id}.<png|jpg|bmp|tif>; add it",
                                  item_id=item_id, file=f"golden/{item_id}.*")
    return map_of(detector, folder["images"][item_id], folder["golden"][item_id])


def _require_goldens(detector: Any, folder: dict, what: str) -> None:
    if detectors.needs_golden(detector) and not folder["golden"]:
        raise ValueError(f"defects_infer: detector {detector.name!r} compares each image with its golden, but "
                         f"{what} '{folder['root']}' has no golden/ folder; add <dir>/golden/<id>.png for every "
                         "image, or choose a detector that fits on good images (detector=patch_stats)")


def _maps(detector: Any, folder: dict, ids: list[str], stage: str) -> tuple[dict[str, np.ndarray], list[dict]]:
    maps, failures = {}, []
    for item_id in ids:
        try:
            maps[item_id] = _map_of(detector, folder, item_id)
        except ITEM_ERRORS as exc:
            failures.append(_failure(folder, item_id, exc, stage, folder["image_files"].get(item_id, item_id)))
    return maps, failures


# --- detector ------------------------------------------------------------------------------------
def detector_config(params: dict[str, Any]) -> dict[str, Any]:
    """``{"backend": <detector>, <backend>: {...}, ...}`` from ``defects_infer.detector(s)``."""
    return {"backend": params["detector"], **dict(params.get("detectors") or {})}


def detector_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """What ``prepare_detector`` reads of ``defects_infer``: the chosen detector, its settings and
    the hold-out fraction (the fingerprint's view: another backend's settings or a threshold
    setting changed does not refit)."""
    params = values["params"]
    chosen = params["detector"]
    return {"detector": chosen, "detectors": {chosen: (params.get("detectors") or {}).get(chosen)},
            "holdout_fraction": params.get("holdout_fraction", 0.25)}


def _without_detector(values: dict[str, Any]) -> dict[str, Any]:
    """``defects_infer`` less the detector's keys, which reach a node through the saved model."""
    return {k: v for k, v in values["params"].items() if k not in ("detector", "detectors", "holdout_fraction")}


@reads_parameters(params=detector_parameters)
def prepare_detector(params: dict[str, Any], deployed: dict | None, calibration: dict | None, seed: int
                     ) -> tuple[dict[str, Any], dict[str, Any], list[dict]]:
    """The detector's saved state, the fit/hold-out split of ``good/`` and the items that failed.

    A deployed detector (``infer_config=…``) is checked and kept as saved. Otherwise one that
    learns from good images is fitted on ``<calib_dir>/good/`` minus a seeded ``holdout_fraction``
    kept to calibrate on; ``golden_template`` needs no fitting.
    """
    if deployed is not None:
        detector = detectors.detector_from_state(deployed["model"])
        logger.info("defects_infer: reloaded %s from %s (no refitting)", detector.name, deployed["source"])
        return deployed["model"], {"fit": [], "holdout": [], "reloaded_from": deployed["source"]}, []
    detector = detectors.build_anomaly_detector(detector_config(params))
    split: dict[str, Any] = {"fit": [], "holdout": []}
    failures = _listing_failures(calibration, "calibration")
    if detectors.needs_fit(detector):
        if not calibration or not calibration["good"]:
            raise ValueError(f"defects_infer: detector {detector.name!r} learns from defect-free images: give "
                             "calib_dir=<dir> with <dir>/good/ holding them (or use detector=golden_template "
                             "with golden/ references, or infer_config=<a saved infer_config.json>)")
        ids = sorted(calibration["good"], key=lambda i: item_seed(seed, i))
        k = min(len(ids) - 1, round(float(params.get("holdout_fraction", 0.25)) * len(ids)))
        split = {"fit": sorted(ids[k:]), "holdout": sorted(ids[:k])}
        failures += fit_on_good(detector, calibration, split["fit"])
    state = detectors.detector_state(detector)
    if not state.get("fitted_state_saved", True):  # the later nodes of this run reuse this fit
        REFITTED.get(_refit_key(state, calibration, split), lambda: detector)
    return state, split, failures


#: detectors whose fitted model is not saved (pyimgano), fitted once per run and shared by the
#: nodes after prepare_detector; keyed by the saved state's digest, the folder and the fit ids
REFITTED = ModelCache("defects_infer.refitted", scope="run")


def _refit_key(state: dict[str, Any], calibration: dict | None, split: dict[str, Any]) -> tuple:
    return (detectors.state_digest(state), (calibration or {}).get("root"), tuple(split.get("fit") or ()))


def detector_from(state: dict[str, Any], calibration: dict | None, split: dict[str, Any]) -> Any:
    """The detector again, from its saved state (``model/detector.npz``). A backend whose fitted
    model cannot be saved without a pickle (pyimgano) keeps its settings only: it is fitted again
    on the same ``good/`` images, once per run (prepare_detector's fit is reused in its run)."""
    if state.get("fitted_state_saved", True) or split.get("reloaded_from"):
        return detectors.detector_from_state(state)

    def refit() -> Any:
        detector = detectors.build_anomaly_detector({"backend": state["backend"],
                                                     **dict(state.get("settings") or {})})
        if detectors.needs_fit(detector) and calibration:
            fit_on_good(detector, calibration, list(split.get("fit") or []))
        return detector

    return REFITTED.get(_refit_key(state, calibration, split), refit)


def fit_on_good(detector: Any, folder: dict, ids: list[str]) -> list[dict]:
    """Fit ``detector`` on the ``good/`` images ``ids`` of an inspection folder; the items that
    could not be read are returned (and left out), the others fitted on."""
    images, failures = [], []
    for item_id in ids:
        try:
            images.append(folder["good"][item_id]())
        except ITEM_ERRORS as exc:
            failures.append(_failure(folder, item_id, exc, "fit", f"good/{item_id}"))
    detector.fit(images)
    logger.info("%s: fitted %s on %d good image(s)", folder["root"], detector.name, len(images))
    return failures


# --- thresholds ----------------------------------------------------------------------------------
def _has_labels(folder: dict | None) -> bool:
    return bool(folder and (folder["boxes"] or folder["masks"]))


def _gt_boxes(folder: dict, item_id: str, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Ground-truth boxes (pixels of the map grid) and classes of an item: from boxes/ when the folder
    has it (an image without a .txt has no defect), else from the regions of masks/; None when unlabelled."""
    h, w = shape
    if folder["boxes"]:
        boxes = folder["boxes"][item_id]() if item_id in folder["boxes"] else []
        return yolo_boxes_xyxy(boxes, w, h)
    if folder["masks"]:
        if item_id not in folder["masks"]:
            return np.empty((0, 4)), np.empty(0, np.int64)
        mask = _on_grid(folder["masks"][item_id](), shape)
        boxes = mask_boxes_xyxy(mask)
        return boxes, np.full(len(boxes), -1, np.int64)
    return None


def _on_grid(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape != tuple(shape):
        mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return mask


def _explicit_strategy(params: dict[str, Any], deployed: dict | None) -> str | None:
    if params["defects"].get("pixel_threshold_strategy"):
        return str(params["defects"]["pixel_threshold_strategy"])
    if deployed:
        return settings_from_infer_config(deployed["infer_config"]).get("pixel_threshold_strategy")
    return None


@reads_parameters(params=lambda values: values["params"]["defects"])
def infer_settings(params: dict[str, Any], deployed: dict | None) -> dict[str, Any]:
    """The effective defects settings: parameters > the deployed infer_config's ``defects`` > defaults."""
    return merge_settings(params["defects"], deployed["infer_config"] if deployed else None,
                          params_source="parameters defects_infer.defects",
                          infer_config_source=f"infer_config {deployed['source']}" if deployed else "infer_config")


@reads_parameters(params=_without_detector)
def resolve_thresholds(params: dict[str, Any], settings: dict[str, Any], deployed: dict | None,
                       model: dict[str, Any], calibration: dict | None, split: dict[str, Any]
                       ) -> tuple[dict[str, Any], list[dict]]:
    """Pixel threshold (+ provenance, strategy and ``min_area``) and image threshold, with the
    detector ``model`` (its saved state)."""
    detector = detector_from(model, calibration, split)
    config = deployed["infer_config"] if deployed else None
    strategy = _explicit_strategy(params, deployed) or ("labelled_f1" if _has_labels(calibration)
                                                        else "normal_pixel_quantile")
    explicit = params["defects"].get("pixel_threshold")
    min_area = int(settings["min_area"])
    failures: list[dict] = []
    normal_maps: dict[str, np.ndarray] = {}
    if explicit is None and config is None and not calibration:
        raise ValueError("defects_infer: no pixel threshold to cut the anomaly maps at. Give one of: "
                         "calib_dir=<dir> (labelled: boxes/ or masks/, or defect-free images to calibrate on), "
                         "infer_config=<infer_config.json of an earlier run>, or an explicit value "
                         "(--params defects_infer.defects.pixel_threshold=0.4)")
    if explicit is None and config is None and strategy == "labelled_f1" and _has_labels(calibration):
        _require_goldens(detector, calibration, "calib_dir")
        maps, failures = _maps(detector, calibration, sorted(calibration["images"]), "calibration")
        used_maps, gts = [], []
        for item_id, amap in maps.items():
            try:
                gt = _gt_boxes(calibration, item_id, amap.shape)
            except ITEM_ERRORS as exc:
                failures.append(_failure(calibration, item_id, exc, "calibration", f"boxes/{item_id}.txt"))
                continue
            used_maps.append(amap)
            gts.append(gt[0])
        lf = params.get("labelled_f1") or {}
        resolved, min_area = labelled_f1_threshold(
            used_maps, gts, settings=settings,
            min_area=params["defects"].get("min_area"),
            min_area_candidates=lf.get("min_area_candidates", (0, 2, 4, 8, 16, 32, 64)),
            n_thresholds=int(lf.get("threshold_candidates", 64)), iou_threshold=float(params["iou_threshold"]),
            source=calibration["root"], label_source="boxes" if calibration["boxes"] else "masks")
        pixel, provenance = resolved
    else:
        if explicit is None and config is None and strategy == "normal_pixel_quantile" and calibration:
            normal_maps, failures = _normal_maps(detector, calibration, split)
        resolved = resolve_pixel_threshold(
            pixel_threshold=explicit, pixel_threshold_strategy=strategy, infer_config=config,
            calibration_maps=list(normal_maps.values()), pixel_normal_quantile=settings["pixel_normal_quantile"],
            roi_xyxy_norm=settings["roi_xyxy_norm"], infer_config_source=deployed["source"] if deployed else "",
            calibration_source=f"{calibration['root']}/{'images' if detectors.needs_golden(detector) else 'good'}"
            if calibration else "")
        pixel, provenance = resolved
        saved = (config or {}).get("defects", {}).get("pixel_threshold_provenance")
        if explicit is None and config is not None and saved:
            provenance = dict(saved)  # the value is the saved one: so is the way it was chosen
    top = float(params.get("score_top_fraction", 0.01))
    scores = [detectors.image_score(m, top) for m in normal_maps.values()]
    image, image_provenance = image_threshold(params, config, scores, "calibration maps")
    return {"pixel_threshold": float(pixel), "pixel_threshold_provenance": provenance,
            "pixel_threshold_strategy": strategy, "min_area": int(min_area),
            "threshold": image, "threshold_provenance": image_provenance}, failures


def _normal_maps(detector: Any, calibration: dict, split: dict[str, Any]) -> tuple[dict, list[dict]]:
    """Maps of defect-free calibration images: the held-out good/ images of a fitted detector, or the
    image/golden pairs of images/ for a golden-based one (the calibration folder is then all good)."""
    if detectors.needs_golden(detector):
        _require_goldens(detector, calibration, "calib_dir")
        return _maps(detector, calibration, sorted(calibration["images"]), "calibration")
    folder = {**calibration, "images": calibration["good"],
              "image_files": {i: f"good/{i}" for i in calibration["good"]}}
    return _maps(detector, folder, list(split.get("holdout") or []), "calibration")


def image_threshold(params: dict[str, Any], config: dict | None, normal_scores: list[float | None], source: str
                    ) -> tuple[float | None, dict[str, Any]]:
    """The image threshold that labels inputs: explicit ``image_threshold`` → the infer_config's
    ``threshold`` (with its saved provenance) → the ``image_normal_quantile`` of the image scores of
    normal (defect-free) calibration maps → none (inputs get no label)."""
    if params.get("image_threshold") is not None:
        value = float(params["image_threshold"])
        return value, {"method": "fixed", "source": "explicit", "value": value}
    if config and config.get("threshold") is not None:
        value = float(config["threshold"])
        return value, dict(config.get("threshold_provenance") or {"method": "fixed", "source": "infer_config",
                                                                   "value": value})
    scores = np.array([s for s in normal_scores if s is not None and np.isfinite(s)], dtype=np.float64)
    if scores.size == 0:
        return None, {"method": "none", "reason": "no normal calibration maps; inputs get no label"}
    q = float(params.get("image_normal_quantile", 0.99))
    return float(np.quantile(scores, q)), {"method": "normal_score_quantile", "source": source,
                                           "q": q, "calibration_image_count": int(scores.size)}


# --- inference -----------------------------------------------------------------------------------
def _effective(settings: dict[str, Any], thresholds: dict[str, Any]) -> dict[str, Any]:
    return {**settings, "pixel_threshold_strategy": thresholds["pixel_threshold_strategy"],
            "min_area": thresholds["min_area"]}


@reads_parameters(params=lambda values: {"score_top_fraction": values["params"].get("score_top_fraction", 0.01)})
def infer_defects(model: dict[str, Any], inspection: dict, settings: dict[str, Any], thresholds: dict[str, Any],
                  params: dict[str, Any], calibration: dict | None, split: dict[str, Any]
                  ) -> tuple[dict, dict, list[dict], dict[str, np.ndarray], list[dict]]:
    """Masks (png or npy, by ``mask_format``), ``defects.jsonl`` records, the maps of images that have a
    ground-truth mask (for the pixel metrics) and the items that failed, with the detector ``model``
    (its saved state; ``calibration`` and ``split`` refit one whose fitted model is not saved)."""
    detector = detector_from(model, calibration, split)
    _require_goldens(detector, inspection, "input_dir")
    eff = _effective(settings, thresholds)
    extract = {k: eff[k] for k in EXTRACT_KEYS}
    fmt, top = eff["mask_format"], float(params.get("score_top_fraction", 0.01))
    pixel_threshold, image_threshold = thresholds["pixel_threshold"], thresholds["threshold"]
    failures = _listing_failures(inspection, "infer")
    masks: dict[str, Callable] = {}
    records: list[dict[str, Any]] = []
    eval_maps: dict[str, np.ndarray] = {}
    for item_id in sorted(inspection["images"]):
        try:
            amap = _map_of(detector, inspection, item_id)
        except ITEM_ERRORS as exc:
            failures.append(_failure(inspection, item_id, exc, "infer", inspection["image_files"][item_id]))
            continue
        score = detectors.image_score(amap, top)
        record: dict[str, Any] = {"index": len(records), "id": item_id,
                                  "input": f"{inspection['root']}/{inspection['image_files'][item_id]}",
                                  "score": float(score) if np.isfinite(score) else None}
        if image_threshold is not None and record["score"] is not None:
            record["label"] = int(record["score"] >= image_threshold)
        if eff["enabled"]:
            result = extract_defects(amap, pixel_threshold=pixel_threshold, **extract)
            record["defects"] = defects_record(
                result, pixel_threshold_provenance=thresholds["pixel_threshold_provenance"],
                mask_path=f"{RUN_RELATIVE_MASKS}/{item_id}.{fmt}", mask_format=fmt)
            masks[item_id] = _packed(result["mask"])
        records.append(record)
        if item_id in inspection["masks"]:
            eval_maps[item_id] = amap
    if not records:
        logger.error("defects_infer: none of the %d image(s) of %s could be inspected", len(inspection["images"]),
                     inspection["root"])
    return (masks if fmt == "png" else {}), (masks if fmt == "npy" else {}), records, eval_maps, failures


def _packed(mask: np.ndarray) -> Callable[[], np.ndarray]:
    """A lazy saver holding the 0/255 mask as bits (8× smaller while the folder is written)."""
    bits, shape = np.packbits(mask > 0), mask.shape

    def unpack() -> np.ndarray:
        return np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape) * np.uint8(255)

    return unpack


# --- deployment ----------------------------------------------------------------------------------
def model_block(state: dict[str, Any], path: str) -> dict[str, Any]:
    """The ``model`` block of an ``infer_config.json`` naming a saved detector state at ``path``
    (relative to the config's folder) by its ``sha256``."""
    return {"backend": state["backend"], "settings": state["settings"], "path": path, "sha256": state["sha256"],
            "algorithm_version": state["algorithm_version"], "code_version": state["code_version"],
            "fitted_state_saved": state.get("fitted_state_saved", True)}


def build_infer_config(settings: dict[str, Any], thresholds: dict[str, Any], state: dict[str, Any]
                       ) -> dict[str, Any]:
    """``infer_config.json``: the saved detector (``model``), the image threshold, the ``defects`` block."""
    base: dict[str, Any] = {"model": model_block(state, MODEL_RELATIVE_PATH)}
    if thresholds["threshold"] is not None:
        base["threshold"] = thresholds["threshold"]
        base["threshold_provenance"] = thresholds["threshold_provenance"]
    return export_infer_config(_effective(settings, thresholds), pixel_threshold=thresholds["pixel_threshold"],
                               pixel_threshold_provenance=thresholds["pixel_threshold_provenance"], base=base)


# --- evaluation ----------------------------------------------------------------------------------
@reads_parameters(params=lambda values: {k: values["params"].get(k) for k in ("iou_threshold", "aupro_fpr_limit")})
def evaluate_defects(inspection: dict, records: list[dict], eval_maps: dict[str, Callable[[], np.ndarray]],
                     thresholds: dict[str, Any], params: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """Metrics against the input folder's ground truth; ``{}`` (no file) when it has none. ``eval_maps``:
    the saved maps of the images with a ground-truth mask (loaders)."""
    if not _has_labels(inspection):
        logger.info("defects_infer: %s has no boxes/ or masks/: no metrics", inspection["root"])
        return {}, []
    iou_min = float(params["iou_threshold"])
    failures: list[dict] = []
    items = []
    for record in records:
        if "defects" not in record:
            continue
        item_id = record["id"]
        try:
            gt = _gt_boxes(inspection, item_id, tuple(record["defects"]["space"]["shape"]))
        except ITEM_ERRORS as exc:
            failures.append(_failure(inspection, item_id, exc, "evaluation", f"boxes/{item_id}.txt"))
            continue
        items.append((region_boxes_xyxy(record["defects"]["regions"]), gt[0], gt[1]))
    classes = inspection["classes"]
    names = None
    if any(len(c) and c.min() < 0 for _, _, c in items):
        names = ["defect"]
        items = [(p, g, np.zeros(len(c), np.int64)) for p, g, c in items]
    metrics: dict[str, Any] = {
        "images": len(items),
        "label_source": "boxes" if inspection["boxes"] else "masks",
        "regions": region_detection(items, iou_min, names or classes),
        "pixel_auroc": None,
        "aupro": None,
        "aupro_fpr_limit": float(params.get("aupro_fpr_limit", 0.3)),
        "pixel_threshold": thresholds["pixel_threshold"],
        "pixel_threshold_provenance": thresholds["pixel_threshold_provenance"],
        "min_area": thresholds["min_area"],
    }
    if eval_maps:
        maps, gts = [], []
        for item_id in sorted(eval_maps):
            amap = eval_maps[item_id]() if callable(eval_maps[item_id]) else eval_maps[item_id]
            try:
                gts.append(_on_grid(inspection["masks"][item_id](), amap.shape))
            except ITEM_ERRORS as exc:
                failures.append(_failure(inspection, item_id, exc, "evaluation", f"masks/{item_id}.png"))
                continue
            maps.append(amap)
        if maps:
            metrics["pixel_auroc"] = auroc(np.concatenate([m.ravel() for m in maps]),
                                           np.concatenate([g.ravel() for g in gts]))
            metrics["aupro"] = aupro(maps, gts, metrics["aupro_fpr_limit"])
    return metrics, failures


def collect_failures(fit_failures: list[dict], calibration_failures: list[dict], infer_failures: list[dict],
                     evaluation_failures: list[dict]) -> list[dict]:
    """Every item that could not be processed (the run ends non-zero when there is any)."""
    return [*fit_failures, *calibration_failures, *infer_failures, *evaluation_failures]
