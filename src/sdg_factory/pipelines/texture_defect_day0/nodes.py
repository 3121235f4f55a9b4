"""Day 0 texture defects (pcba_texture_defect_day0.md): preflight → stage → anomaly inference.

The nodes read like the document: the URL-contract preflight and its error messages, the
``anomaly_types_json`` taxonomy, the AnomalyGen staging folder per material, and inference
whose labels are written inline with the images (the same placement gives the mask, the
label and the pixels).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.fingerprints import per_item
from sdg_factory.imaging.defect_masks import DEFECT_TYPES, PlacementError, mask_stats, place_defect, semantic_regions
from sdg_factory.paths import check_segment
from sdg_factory.seeding import item_rng, item_seed

logger = logging.getLogger(__name__)

DEFAULT_TAXONOMY = [["IC", "bridge"], ["passive_component", "excess_solder"], ["passive_component", "missing"]]


class PreflightError(RuntimeError):
    """The URL contract is not met: a message in the document's words, and the fix."""


# ---- taxonomy --------------------------------------------------------------------------------
def parse_taxonomy(value: Any) -> list[tuple[str, str]]:
    """``anomaly_types_json``: a list of ``[material, defect]`` pairs, given as YAML, as JSON text
    (``'[["IC","bridge"],…]'``, as the document passes it) or, comma-free for ``kedro run
    --params``, as ``IC:bridge;passive_component:missing``."""
    raw = value
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = [item.split(":", 1) for item in text.split(";") if item.strip()]
    try:
        pairs = [(str(m).strip(), str(d).strip()) for m, d in value]
    except (TypeError, ValueError):
        raise PreflightError(
            f"anomaly_types_json {raw!r} is not a list of [material, defect] pairs, e.g. "
            "'[[\"IC\",\"bridge\"],[\"passive_component\",\"missing\"]]' or 'IC:bridge;passive_component:missing'"
        ) from None
    if not pairs:
        raise PreflightError("anomaly_types_json is empty: list at least one [material, defect] pair")
    unknown = sorted({d for _, d in pairs} - set(DEFECT_TYPES))
    if unknown:
        raise PreflightError(f"anomaly_types_json names unknown defect type(s) {unknown}; "
                             f"the generator knows {list(DEFECT_TYPES)}")
    for material, _ in pairs:  # a material is a folder name (raw/<MAT>/…, anomaly/<MAT>/…)
        check_segment(material, "anomaly_types_json material")
    return list(dict.fromkeys(pairs))


# ---- preflight --------------------------------------------------------------------------------
def _validation_split(count: int, fraction: float) -> int:
    """How many of an entry's sub-masks the validation set holds out (prep_testcase)."""
    if count < 2:
        return 0
    return max(1, int(count * float(fraction)))


def usable_submasks(raw_submasks: dict[str, Any], material: str, defect: str) -> list[str]:
    """Partition ids of the non-blank sub-masks under ``<material>/mask/<defect>/``."""
    prefix = f"{material}/mask/{defect}/"
    out = []
    for pid in sorted(p for p in raw_submasks if p.startswith(prefix)):
        if (np.asarray(raw_submasks[pid]()) > 127).any():
            out.append(pid)
    return out


def preflight_urls(usd_assets: dict, raw_spec_files: dict, raw_submasks: dict, checkpoint: Any,
                   anomaly_types_json: Any, params: dict, board: str, dig_url_root: str,
                   mode: str = "passthrough") -> dict:
    """The document's ``preflight_urls.sh``: every URL the run reads exists, else the error
    from its Troubleshooting section. ``mode`` is ``passthrough`` (the shipped checkpoint under
    ``models/pcb`` is required when the backend needs one) or ``finetune`` (the pretrained model
    and a non-empty validation set are required instead)."""
    root = str(dig_url_root).rstrip("/")
    assets_in = f"{root}/datasets/pcb/assets/{board}"
    raw = f"{root}/datasets/pcb/raw"
    if not any(pid.startswith(f"{board}/") and ".usd" in pid for pid in usd_assets):
        raise PreflightError(f"ERROR: no USD found under {assets_in} — it must contain the board's USD tree; "
                             "run `kedro run --pipeline=pcba_setup` (the documents' setup_pcb) or upload the "
                             "PCBA assets under the same dig_url_root.")
    if "defect_spec" not in raw_spec_files:
        raise PreflightError(f"ERROR: {raw}/defect_spec.jsonl missing in raw dataset — {raw} is incomplete; "
                             "rerun `kedro run --pipeline=pcba_setup` (the documents' setup_pcb).")
    taxonomy = parse_taxonomy(anomaly_types_json)
    spec = {(r["material"], r["defect_type"]): r for r in raw_spec_files["defect_spec"]()}
    entries = []
    for material, defect in taxonomy:
        prefix = f"{material}/mask/{defect}/"
        if not any(pid.startswith(prefix) for pid in raw_submasks):
            raise PreflightError(
                f"submask dir not found: {raw}/{prefix} (anomaly_types_json entry [{material!r}, {defect!r}]) — "
                "the raw PCBA data must have <material>/mask/<defect>/ directories matching anomaly_types_json")
        record = spec.get((material, defect))
        if record is None:
            logger.warning("defect_spec.jsonl has no record for [%s, %s]; treating it as cad-dependent",
                           material, defect)
        entries.append({"material": material, "defect_type": defect,
                        "spatial_dependency": (record or {}).get("spatial_dependency", "cad")})
    if mode == "finetune":
        fraction = float(params.get("finetune", {}).get("validation_fraction", 0.2))
        held_out = sum(_validation_split(len(usable_submasks(raw_submasks, e["material"], e["defect_type"])),
                                         fraction) for e in entries)
        if held_out == 0:
            raise PreflightError(
                "ERROR: prep_testcase produced an empty validation set (validation.jsonl) — the raw PCBA dataset "
                f"has no training masks under <MATERIAL>/mask/<defect>/ in {raw} for {taxonomy} (each entry "
                "needs at least two non-blank sub-masks); rerun `kedro run --pipeline=pcba_setup` or add masks.")
        if not checkpoint.is_diffusers:
            raise PreflightError(
                f"ERROR: no pretrained inpainting pipeline at {checkpoint.url} (model_index.json missing) — "
                "put a diffusers inpainting pipeline there (the documents' setup_pretrained).")
    elif params.get("backend", "procedural") != "procedural" and not checkpoint.is_diffusers:
        raise PreflightError(
            f"ERROR: no checkpoint found at {checkpoint.url} (model_index.json missing) for backend "
            f"{params.get('backend')!r} — upload the PCBA checkpoint there, run texture_defect_day0_finetune, "
            "or use backend: procedural.")
    return {"mode": mode, "board": board, "assets_in": assets_in, "raw": raw, "checkpoint": checkpoint.url,
            "taxonomy": entries}


# ---- staging ----------------------------------------------------------------------------------
def _clean_rgb(value: Any) -> np.ndarray:
    """The clean ROI as RGB, from a restyled crop (RGB or RGBA) or a ``Roi`` (its normal_img)."""
    image = getattr(value, "normal_img", value)
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    return np.ascontiguousarray(image[..., :3])


def _staged_image(load_clean) -> np.ndarray:
    return _clean_rgb(load_clean())


def _staged_cad_mask(load_roi) -> np.ndarray:
    return load_roi().cad_mask


def staged_id(roi_pid: str) -> str:
    material, cell, stem = roi_pid.split("/")
    return f"{check_segment(material, 'material')}/{check_segment(cell, 'cell')}__{check_segment(stem, 'stem')}"


@per_item("augmented_crops", "roi_crops")
def stage_anomalygen_inputs(preflight: dict, augmented_crops: dict, roi_crops: dict, raw_submasks: dict,
                            semantic_labels: dict) -> tuple[dict, dict, dict, list[dict], dict]:
    """The AnomalyGen staging folder per material: clean image and cad mask per ROI as
    ``<MAT>/<cell>__<stem>.png``, the taxonomy's sub-masks, the rendered ``defect_spec.jsonl``
    and the semantic labels the cad-mask colours resolve through."""
    materials = {e["material"] for e in preflight["taxonomy"]}
    images, cad_masks = {}, {}
    for pid in sorted(augmented_crops):
        if pid.split("/")[0] not in materials:
            continue
        if pid not in roi_crops:
            raise PreflightError(f"augmented crop {pid} has no ROI (cad_mask) in usd2roi-components/crop; "
                                 "rerun good_image with the same run_name")
        images[staged_id(pid)] = partial(_staged_image, augmented_crops[pid])
        cad_masks[staged_id(pid)] = partial(_staged_cad_mask, roi_crops[pid])
    submasks, spec = {}, []
    for entry in preflight["taxonomy"]:
        material, defect = entry["material"], entry["defect_type"]
        prefix = f"{material}/mask/{defect}/"
        ids = sorted(p for p in raw_submasks if p.startswith(prefix))
        for pid in ids:
            submasks[pid] = raw_submasks[pid]
        rois = sum(1 for s in images if s.split("/")[0] == check_segment(material, "anomaly_types_json material"))
        spec.append({**entry, "mask_dir": prefix.rstrip("/"), "count": len(ids), "rois": rois})
        if rois == 0:
            logger.warning("anomaly_types_json entry [%s, %s]: this run has no %s ROIs (board %s); "
                           "it produces no images", material, defect, material, preflight["board"])
    return images, cad_masks, submasks, spec, semantic_labels


# ---- inference --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnomalyItem:
    """One output image: a staged ROI, a defect, the sub-mask that shapes it, and its seed."""

    partition_id: str          # <MAT>/<cell>__<stem>__<defect>
    material: str
    staged: str                # <MAT>/<cell>__<stem>
    defect_type: str
    submask: str               # <MAT>/mask/<defect>/NNNN
    seed: int

    @property
    def cell(self) -> str:
        return self.staged.split("/")[1].split("__")[0]

    @property
    def stem(self) -> str:
        return self.staged.split("/")[1].split("__", 1)[1]


def plan_items(staged_images: dict, staged_submasks: dict, staged_spec: list[dict], num_sdg: int | None,
               seed: int) -> list[AnomalyItem]:
    """Every (ROI of the entry's material, defect) pair, up to ``num_sdg`` per taxonomy entry;
    each draws its sub-mask and seed from its own generator."""
    items = []
    for entry in staged_spec:
        material, defect = entry["material"], entry["defect_type"]
        folder = check_segment(material, "anomaly_types_json material")
        rois = sorted(s for s in staged_images if s.split("/")[0] == folder)
        masks = sorted(p for p in staged_submasks if p.startswith(f"{material}/mask/{defect}/"))
        if num_sdg is not None:
            rois = rois[: int(num_sdg)]
        for staged in rois:
            pid = f"{staged}__{check_segment(defect, 'defect')}"
            rng = item_rng(seed, pid)
            items.append(AnomalyItem(pid, material, staged, defect, masks[int(rng.integers(len(masks)))],
                                     item_seed(seed, pid)))
    return items


def _placement(item: AnomalyItem, load_cad, load_submask, labels: dict) -> tuple[np.ndarray, dict]:
    regions = semantic_regions(load_cad(), labels)
    rng = np.random.default_rng(item.seed)
    return place_defect(item.defect_type, regions, np.asarray(load_submask()), rng), regions


def anomaly_mask(item: AnomalyItem, load_cad, load_submask, labels: dict) -> np.ndarray:
    """The label mask (``uint8`` 0/255): the placement, which the generator paints exactly."""
    return _placement(item, load_cad, load_submask, labels)[0]


@dataclass(frozen=True)
class PlacedMask:
    """A placement computed once, held at one bit a pixel until its savers ask for it (a mask
    that is not 0/255 is held as it is): the mask saver and the painter read these bytes instead
    of placing the defect again."""

    bits: np.ndarray
    shape: tuple[int, ...]
    raw: np.ndarray | None = None

    @classmethod
    def of(cls, mask: np.ndarray) -> PlacedMask:
        binary = mask.dtype == np.uint8 and not ((mask != 0) & (mask != 255)).any()
        if binary:
            return cls(np.packbits(mask > 0), mask.shape)
        return cls(np.empty(0, np.uint8), mask.shape, mask.copy())

    def __call__(self) -> np.ndarray:
        if self.raw is not None:
            return self.raw.copy()
        size = int(np.prod(self.shape))
        return (np.unpackbits(self.bits, count=size).reshape(self.shape) * np.uint8(255)).astype(np.uint8)


def anomaly_image(item: AnomalyItem, load_clean, load_cad, placed: PlacedMask, labels: dict, backend: str,
                  options: dict, checkpoint: Any, prompt: str, negative_prompt: str) -> np.ndarray:
    """The defective ROI (RGB): the backend paints the defect inside the placement mask."""
    from sdg_factory.backends.anomaly_generation import ANOMALY_GENERATORS, AnomalyRequest

    mask, regions = placed(), semantic_regions(load_cad(), labels)
    generator = ANOMALY_GENERATORS.build(backend, options, checkpoint=checkpoint)
    request = AnomalyRequest(_clean_rgb(load_clean()), mask, item.defect_type, item.material, regions,
                             item_seed(item.seed, "paint"), prompt, negative_prompt)
    return generator.generate(request)


def generate_anomalies(staged_images: dict, staged_cad_masks: dict, staged_submasks: dict, staged_spec: list[dict],
                       semantic_labels: dict, checkpoint: Any, params: dict, backend: str,
                       seed: int) -> tuple[dict, dict, list[dict], dict]:
    """AnomalyGen inference with labels inline: per item the placement mask is computed once,
    here, for its label (bbox, area); the lazy savers that write the mask and paint the image
    are handed it (:class:`PlacedMask`) rather than placing the defect again."""
    items = plan_items(staged_images, staged_submasks, staged_spec, params.get("num_sdg"), seed)
    options = dict(params.get(backend, {}) or {})
    prompts = params.get("prompts", {}) or {}
    spec = {(e["material"], e["defect_type"]): e for e in staged_spec}
    images, masks, labels = {}, {}, []
    summary: dict[str, Any] = {"backend": backend, "checkpoint": getattr(checkpoint, "url", checkpoint),
                               "entries": {}, "skipped": []}
    for entry in staged_spec:
        summary["entries"][f"{entry['material']}/{entry['defect_type']}"] = {"rois": entry.get("rois", 0), "images": 0}
    for item in items:
        load_cad, load_sub = staged_cad_masks[item.staged], staged_submasks[item.submask]
        try:
            mask = anomaly_mask(item, load_cad, load_sub, semantic_labels)
        except PlacementError as exc:
            logger.warning("%s: no %s placement on this ROI (%s); skipped", item.partition_id, item.defect_type, exc)
            summary["skipped"].append({"partition_id": item.partition_id, "reason": str(exc)})
            continue
        bbox, area = mask_stats(mask)
        prompt = prompts.get(item.defect_type, item.defect_type.replace("_", " "))
        placed = PlacedMask.of(mask)
        images[item.partition_id] = partial(anomaly_image, item, staged_images[item.staged], load_cad, placed,
                                            semantic_labels, backend, options, checkpoint, prompt,
                                            params.get("negative_prompt", ""))
        masks[item.partition_id] = placed
        labels.append({
            "image": f"images/{item.partition_id}.png", "mask": f"masks/{item.partition_id}.png",
            "partition_id": item.partition_id, "material": item.material, "cell": item.cell, "stem": item.stem,
            "defect_type": item.defect_type, "defect": item.defect_type,
            "spatial_dependency": spec[(item.material, item.defect_type)].get("spatial_dependency", "cad"),
            "source_image": f"anomaly_staging/images/{item.staged}.png",
            "source_cad_mask": f"anomaly_staging/cad_masks/{item.staged}.png",
            "submask": f"raw/{item.submask}.png", "bbox_xyxy": bbox, "area": area,
            "height": int(mask.shape[0]), "width": int(mask.shape[1]),
            "backend": backend, "checkpoint": summary["checkpoint"], "seed": int(item.seed), "prompt": prompt,
        })
        summary["entries"][f"{item.material}/{item.defect_type}"]["images"] += 1
    counts = defaultdict(int)
    for record in labels:
        counts[record["defect_type"]] += 1
    logger.info("anomaly inference (%s): %d images %s, %d skipped", backend, len(labels), dict(counts),
                len(summary["skipped"]))
    return images, masks, labels, summary
