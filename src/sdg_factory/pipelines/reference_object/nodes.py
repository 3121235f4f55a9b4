"""Reference-object pipeline: one reference image to an annotated, augmented YOLO dataset.

One node per step of ``reference_object_pipeline.md``; each returns lazy savers
(``{item: callable}``) for its folder, so items are computed on the partition executor, written
atomically, skipped when already complete (re-running a ``run_name`` resumes and re-attempts
what failed) and recorded per item when they fail.

Each node's re-run fingerprint counts only the ``reference_object`` keys it reads
(``@reads_parameters``): an annotation setting re-annotates and re-augments (steps 6-7) without
redoing the scenes of steps 1-5. ``max_retries`` counts for none of them: it decides whether a
failed item is attempted again, never what a made item holds (a failed item is re-attempted by
the next run anyway).
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import partial
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest
from sdg_factory.datasets.yolo import YoloItems
from sdg_factory.fingerprints import only_keys, reads_parameters
from sdg_factory.imaging import cv_augment
from sdg_factory.imaging.masks import mask_iou
from sdg_factory.imaging.segmentation import segment_on_white
from sdg_factory.imaging.yolo_labels import coco_segmentation, rasterize_label, yolo_label_lines
from sdg_factory.seeding import item_rng, item_seed

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# helpers (module level, so savers pickle for the process executor)
# --------------------------------------------------------------------------------------

def _with_retries(fn, max_retries: int, what: str):
    """Call ``fn``, and again up to ``max_retries`` times after a failure (``max_retries + 1``
    attempts in all, docs/parameters.md); the last error is raised with the attempt count."""
    attempts = max(0, int(max_retries)) + 1
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - any backend error is retried, then recorded
            if attempt == attempts:
                raise RuntimeError(f"{what} failed after {attempts} attempt(s): {exc}") from exc
            logger.warning("%s: attempt %d/%d failed (%s); retrying", what, attempt, attempts, exc)
    raise AssertionError("unreachable")


def _edit(editor_config: dict, request: EditRequest) -> tuple[np.ndarray, dict]:
    outputs: dict = {}
    request.options = {**request.options, "outputs": outputs}
    image = IMAGE_EDITORS.build_from(editor_config).edit(request)
    return np.asarray(image), outputs


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def _split_of(run_seed: int, stem: str, split_ratio: float) -> str:
    """Per-item split, stable under resume: a new item never moves the others."""
    return "train" if item_rng(run_seed, f"split/{stem}").random() < split_ratio else "val"


# --------------------------------------------------------------------------------------
# reference mask (the document's mask-labeler utility)
# --------------------------------------------------------------------------------------

@reads_parameters(params=only_keys("params", "reference_mask"))
def make_reference_mask(input_image: np.ndarray, input_mask: np.ndarray | None, params: dict) -> np.ndarray:
    """The given ``input_mask``, or one made from the reference image (classical or SAM2)."""
    from sdg_factory.backends.annotation import make_reference_mask as make_mask

    if input_mask is not None:
        mask = np.asarray(input_mask)
        mask = mask[..., 0] if mask.ndim == 3 else mask
        if mask.shape != input_image.shape[:2]:
            raise ValueError(f"input_mask is {mask.shape[1]}x{mask.shape[0]} but input_image is "
                             f"{input_image.shape[1]}x{input_image.shape[0]}; give the mask of this image")
        return ((mask > 127) * 255).astype(np.uint8)
    cfg = params.get("reference_mask", {})
    mask = make_mask(input_image, cfg.get("backend", "classical"), cfg.get("point"), cfg.get("sam2"))
    if not (mask > 0).any():
        raise ValueError("could not find the object in input_image; give input_mask, or use "
                         "reference_mask.backend=sam2 with reference_mask.point=[x, y] on the object")
    return mask


# --------------------------------------------------------------------------------------
# step 1: white background
# --------------------------------------------------------------------------------------

@reads_parameters(params=only_keys("params", "white_background", "object_name"))
def white_background(input_image: np.ndarray, reference_mask: np.ndarray, params: dict, seed: int) -> np.ndarray:
    """Step 1: the object isolated on a clean white background."""
    cfg = params["white_background"]
    prompt = cfg["prompt"].format(object_name=params["object_name"])
    request = EditRequest(image=input_image, prompt=prompt, task="white_background", mask=reference_mask,
                          seed=item_seed(seed, "01_white_background"))
    image, _ = _with_retries(partial(_edit, cfg["editor"], request), params["max_retries"], "white background")
    return image[..., :3]


# --------------------------------------------------------------------------------------
# step 2: perspectives
# --------------------------------------------------------------------------------------

def _perspective_item(backend: str, backend_config: dict, view, index: int, image: np.ndarray,
                      seed: int, max_retries: int) -> dict:
    from sdg_factory.backends.perspectives import PERSPECTIVE_GENERATORS

    generator = PERSPECTIVE_GENERATORS.build(backend, backend_config)
    mask = segment_on_white(image)
    rgb = _with_retries(lambda: generator.generate(image, mask, view, index, seed), max_retries,
                        f"perspective {view.name(index)}")
    return {"image": rgb, "mask": segment_on_white(rgb)}


@reads_parameters(params=only_keys("params", "perspective_generator", "perspectives"))
def generate_perspectives(white_image: np.ndarray, params: dict, seed: int) -> dict[str, Any]:
    """Step 2: the object from several camera poses, each with its mask (``masks/``)."""
    from sdg_factory.backends.perspectives import PERSPECTIVE_GENERATORS
    from sdg_factory.imaging.views import parse_views

    backend = params["perspective_generator"]
    cfg = params["perspectives"]
    backend_config = dict(cfg.get(backend) or {})
    generator = PERSPECTIVE_GENERATORS.build(backend, backend_config)
    views = generator.views(parse_views(cfg["views"]))

    def view_seed(i: int, view) -> int:  # zero123 renders all views in one seeded call
        return item_seed(seed, f"02/{view.name(i)}" if getattr(generator, "seed_per_view", True) else "02/all_views")

    return {
        view.name(i): partial(_perspective_item, backend, backend_config, view, i, white_image,
                              view_seed(i, view), params["max_retries"])
        for i, view in enumerate(views)
    }


# --------------------------------------------------------------------------------------
# step 3: prompts
# --------------------------------------------------------------------------------------

@reads_parameters(params=only_keys("params", "prompts", "num_prompts", "object_name"))
def generate_scene_prompts(project_info: str, system_prompt: str, params: dict, seed: int) -> dict[str, str]:
    """Step 3: ``num_prompts`` distinct scene descriptions (template grammar or an LLM)."""
    from sdg_factory.pipelines.reference_object.scene_prompts import llm_prompts, template_prompts

    cfg = params["prompts"]
    count = int(params["num_prompts"])
    if cfg.get("backend", "template") == "template":
        prompts = template_prompts(project_info or "", params["object_name"], count,
                                   item_rng(seed, "03_prompts"), source="project_info_file")
    else:
        from sdg_factory.backends.text import TEXT_GENERATORS

        generator = TEXT_GENERATORS.build(cfg["backend"], cfg.get(cfg["backend"]))  # section prompts.<backend>
        generator.health_check()
        prompts = llm_prompts(generator, system_prompt or "", project_info or "", params["object_name"], count,
                              item_seed(seed, "03_prompts") % 2**31, params["max_retries"])
    return {f"prompt_{i:02d}": text + "\n" for i, text in enumerate(prompts)}


# --------------------------------------------------------------------------------------
# step 4: dataset generation (place each perspective into each scene)
# --------------------------------------------------------------------------------------

def _scene_item(editor_config: dict, perspective_loader, prompt: str, background_loader, size,
                seed: int, max_retries: int, name: str) -> dict:
    view = perspective_loader()
    background = background_loader()
    if background is not None:
        background = np.asarray(background)[..., :3]
    request = EditRequest(image=view["image"], mask=view["mask"], prompt=prompt, task="place_in_scene",
                          background=background, seed=seed, options={"size": list(size)})
    image, outputs = _with_retries(partial(_edit, editor_config, request), max_retries, f"scene image {name}")
    return {"image": image[..., :3], "mask": outputs.get("mask")}


def _no_background():
    return None


@reads_parameters(params=only_keys("params", "scene", "num_iterations"))
def generate_scene_dataset(perspectives: dict, prompts: dict, background_scenes: dict, params: dict,
                           seed: int) -> tuple[dict, list[dict]]:
    """Step 4: perspectives × prompts × ``num_iterations`` scene images, and ``metadata.json``.

    The embedded editor also returns each composite's exact object mask (``masks/``).
    """
    cfg = params["scene"]
    editor_config = cfg["editor"]
    IMAGE_EDITORS.build_from(editor_config).health_check()
    views = sorted(perspectives)
    prompt_ids = sorted(prompts)
    backgrounds = sorted(background_scenes or {})
    savers, metadata = {}, []
    for p, view in enumerate(views):
        for q, pid in enumerate(prompt_ids):
            prompt = prompts[pid]().strip()
            for i in range(int(params["num_iterations"])):
                s = item_seed(seed, f"04/{view}/{pid}/{i}")
                short = s % 100_000
                name = f"perspective_{p}_prompt_{q}_seed_{short:05d}"
                background = "procedural"
                loader = _no_background
                if backgrounds:
                    background = backgrounds[s % len(backgrounds)]
                    loader = background_scenes[background]
                savers[name] = partial(_scene_item, editor_config, perspectives[view], prompt, loader,
                                       cfg.get("size", [640, 480]), s, params["max_retries"], name)
                metadata.append({"image": name + ".png", "perspective": view, "perspective_index": p,
                                 "prompt_index": q, "prompt": prompt, "iteration": i, "seed": s,
                                 "editor": editor_config.get("backend", "classical"), "background": background})
    return savers, metadata


# --------------------------------------------------------------------------------------
# step 5: generative augmentation (images only; labels come from step 6)
# --------------------------------------------------------------------------------------

def _augment_item(editor_config: dict, source_loader, prompt: str, seed: int, max_retries: int, name: str) -> dict:
    source = source_loader()
    request = EditRequest(image=source["image"], prompt=prompt, task="augment", seed=seed)
    image, outputs = _with_retries(partial(_edit, editor_config, request), max_retries, f"augmentation {name}")
    # a photometric edit keeps the geometry, so the source's known mask still holds
    mask = source.get("mask") if outputs.get("geometry_preserved") else None
    return {"image": image[..., :3], "mask": mask}


@reads_parameters(params=only_keys("params", "enable_qwen_augmentation", "augmentation", "qwen_augmentation_count"))
def qwen_augment(scene_dataset: dict, augmentation_prompts: str, params: dict, seed: int) -> tuple[dict, dict]:
    """Step 5: ``qwen_augmentation_count`` edits per image, each with a random predefined prompt."""
    if not params["enable_qwen_augmentation"]:
        return {}, {"enabled": False}
    prompts = _lines(augmentation_prompts)
    if not prompts:
        raise ValueError("predefined_prompts_file has no prompts (one per line; '#' starts a comment)")
    editor_config = params["augmentation"]["editor"]
    IMAGE_EDITORS.build_from(editor_config).health_check()
    savers, items = {}, []
    for stem in sorted(scene_dataset):
        for k in range(int(params["qwen_augmentation_count"])):
            name = f"{stem}_qwen_aug_{k}"
            rng = item_rng(seed, f"05/{name}")
            prompt = prompts[int(rng.integers(len(prompts)))]
            s = int(rng.integers(2**62))
            savers[name] = partial(_augment_item, editor_config, scene_dataset[stem], prompt, s,
                                   params["max_retries"], name)
            items.append({"image": name + ".png", "source": stem + ".png", "prompt": prompt, "seed": s})
    summary = {"enabled": True, "editor": editor_config.get("backend", "classical"), "count": len(items),
               "by_prompt": dict(Counter(i["prompt"] for i in items)), "items": items}
    return savers, summary


@reads_parameters(params=only_keys("params", "enable_qwen_augmentation"))
def combine_qwen_images(scene_dataset: dict, augmented: dict, params: dict) -> tuple[dict, dict]:
    """Step 5: originals + augmented images in one folder (the annotation's input)."""
    if not params["enable_qwen_augmentation"]:
        return {}, {"enabled": False}
    combined = {**scene_dataset, **augmented}
    return combined, {"enabled": True, "originals": len(scene_dataset), "augmented": len(augmented),
                      "total": len(combined)}


# --------------------------------------------------------------------------------------
# step 6: annotation -> YOLO segmentation dataset
# --------------------------------------------------------------------------------------

def _yolo_item(loader, label: str) -> dict:
    return {"image": loader()["image"], "label": label, "image_from": loader}


def _annotated_item(annotator, loader, min_area: float) -> dict:
    """One image annotated where it is written (a pool task): decoded once, segmented, labelled;
    ``image_from`` lets the dataset write the source's PNG file rather than encode it again."""
    image = loader()["image"]
    mask = annotator.annotate([image])[0]
    return {"image": image, "label": "\n".join(yolo_label_lines(mask, 0, min_area=min_area)),
            "image_from": loader}


NODE_ANNOTATION_KEYS = ("min_part_area",)  # read by the step itself, not by the annotator


@reads_parameters(params=only_keys("params", "object_name", "enable_annotation", "enable_qwen_augmentation",
                                   "annotation", "split_ratio"))
def annotate_dataset(scene_dataset: dict, combined_images: dict, input_image: np.ndarray,
                     reference_mask: np.ndarray, params: dict, seed: int) -> YoloItems:
    """Step 6: segment the object in every image from the reference → YOLO-seg train/val.

    An annotator that segments each image on its own (``per_image``: the classical one) runs
    lazily, in the tasks that write each item (the dataset's executor: a pool on 2 cores); one
    that batches images (SAM2 on a GPU) annotates here, a batch at a time."""
    from sdg_factory.backends.annotation import build_annotator

    names = [params["object_name"]]
    if not params["enable_annotation"]:
        return YoloItems(names, {})
    source = combined_images if params["enable_qwen_augmentation"] else scene_dataset
    cfg = params["annotation"]
    annotator = build_annotator({k: v for k, v in cfg.items() if k not in NODE_ANNOTATION_KEYS},
                                input_image, reference_mask)
    min_area = float(cfg.get("min_part_area", 12))
    stems = sorted(source)
    splits = {stem: _split_of(seed, stem, float(params["split_ratio"])) for stem in stems}
    if len(stems) >= 2 and "val" not in splits.values():  # never an empty validation split
        splits[max(stems, key=lambda s: item_seed(seed, f"split/{s}"))] = "val"
    if len(stems) >= 2 and "train" not in splits.values():
        splits[min(stems, key=lambda s: item_seed(seed, f"split/{s}"))] = "train"
    if getattr(annotator, "per_image", False):
        return YoloItems(names, {f"{splits[stem]}/{stem}": partial(_annotated_item, annotator, source[stem], min_area)
                                 for stem in stems})
    labels = {}
    batch = max(1, int(annotator.batch_size))
    for start in tqdm(range(0, len(stems), batch), desc="annotation", unit="batch", leave=False):
        chunk = stems[start:start + batch]
        masks = annotator.annotate([source[s]()["image"] for s in chunk])
        for stem, mask in zip(chunk, masks, strict=False):
            labels[stem] = "\n".join(yolo_label_lines(mask, 0, min_area=min_area))
    return YoloItems(names, {f"{splits[stem]}/{stem}": partial(_yolo_item, source[stem], labels[stem])
                             for stem in stems})


@reads_parameters(params=only_keys("params", "enable_qwen_augmentation", "annotation"))
def annotation_report(yolo_dataset: YoloItems, scene_dataset: dict, combined_images: dict,
                      params: dict) -> tuple[dict, dict]:
    """Step 6: a COCO JSON of the same annotations, and IoU against the known composite masks."""
    source = combined_images if params["enable_qwen_augmentation"] else scene_dataset
    images, annotations, per_image = [], [], {}
    for image_id, (pid, loader) in enumerate(sorted(yolo_dataset.items.items()), start=1):
        item = loader()
        split, stem = pid.split("/", 1)
        known = source[stem]()["mask"] if stem in source else None
        # the YOLO image is the source image (step 6 annotates it): its known mask has its size,
        # so the image is decoded only when there is no mask to take the size from
        h, w = (known if known is not None else item["image"]).shape[:2]
        images.append({"id": image_id, "file_name": f"{split}/images/{stem}.png", "width": w, "height": h})
        polygons, bbox, area = coco_segmentation(item["label"], (h, w))
        if polygons:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "segmentation": polygons, "bbox": bbox, "area": area, "iscrowd": 0})
        iou = None if known is None else mask_iou(rasterize_label(item["label"], (h, w)), known)
        if iou is not None:  # both masks empty: nothing to compare (imaging/masks.py)
            per_image[stem] = round(iou, 4)
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": name} for name in yolo_dataset.names[:1]]}

    def mean(values):
        return round(float(np.mean(values)), 4) if values else None

    composites = [v for k, v in per_image.items() if "_qwen_aug_" not in k]
    augmented = [v for k, v in per_image.items() if "_qwen_aug_" in k]
    report = {
        "backend": params["annotation"].get("backend", "classical"),
        "images": len(images), "with_known_mask": len(per_image),
        "mean_iou": mean(list(per_image.values())),
        "mean_iou_scene_composites": mean(composites), "mean_iou_augmented": mean(augmented),
        "images_without_object": sum(1 for i in images if i["id"] not in {a["image_id"] for a in annotations}),
        "iou": dict(sorted(per_image.items())),
    }
    if report["images_without_object"]:
        logger.warning("annotation found no object in %d of %d image(s); they are kept as negatives",
                       report["images_without_object"], len(images))
    if report["mean_iou"] is not None:
        logger.info("annotation mean IoU against the known composite masks: %.3f (%d images)",
                    report["mean_iou"], len(per_image))
    return coco, report


# --------------------------------------------------------------------------------------
# step 7: CV augmentation (labels copied verbatim)
# --------------------------------------------------------------------------------------

def _cv_item(loader, ops: list[dict]) -> dict:
    item = loader()
    return {"image": cv_augment.apply_ops(item["image"], ops), "label": item["label"]}


@reads_parameters(params=only_keys("params", "enable_cv_augmentation", "cv_augmentation_count",
                                    *cv_augment.CvAugmentConfig.parameter_names()))
def cv_augment_dataset(yolo_dataset: YoloItems, params: dict, seed: int) -> tuple[YoloItems, dict]:
    """Step 7: ``cv_augmentation_count`` cascaded CV augmentations per annotated image."""
    if not params["enable_cv_augmentation"]:
        return YoloItems(yolo_dataset.names, {}), {"enabled": False}
    config = cv_augment.CvAugmentConfig.from_params(params)
    items, records, counts = {}, [], Counter()
    for pid in sorted(yolo_dataset.items):
        split, stem = pid.split("/", 1)
        for k in range(int(params["cv_augmentation_count"])):
            name = f"{stem}_cv_aug_{k}"
            ops = cv_augment.sample_ops(config, item_rng(seed, f"07/{name}"))
            items[f"{split}/{name}"] = partial(_cv_item, yolo_dataset.items[pid], ops)
            records.append({"image": f"{split}/images/{name}.png", "source": f"{pid}", "ops": ops})
            counts.update(op["op"] for op in ops)
    summary = {"enabled": True, "count": len(records), "applied": dict(sorted(counts.items())),
               "parameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()},
               "items": records}
    return YoloItems(yolo_dataset.names, items), summary


@reads_parameters(params=only_keys("params", "enable_cv_augmentation"))
def combine_cv_dataset(yolo_dataset: YoloItems, augmented: YoloItems, params: dict) -> tuple[YoloItems, dict]:
    """Step 7: originals + CV-augmented items: the final dataset."""
    if not params["enable_cv_augmentation"]:
        return YoloItems(yolo_dataset.names, {}), {"enabled": False}
    items = {**yolo_dataset.items, **augmented.items}
    per_split = Counter(pid.split("/", 1)[0] for pid in items)
    return YoloItems(yolo_dataset.names or augmented.names, items), {
        "enabled": True, "originals": len(yolo_dataset.items), "augmented": len(augmented.items),
        "total": len(items), "per_split": dict(sorted(per_split.items()))}


# --------------------------------------------------------------------------------------
# pipeline_state.json
# --------------------------------------------------------------------------------------

def _failures(planned: list[str], present, manifest: dict | None, step: int, kind: str, details: dict) -> list[dict]:
    errors = {f["partition"]: f["error"] for f in (manifest or {}).get("failed", [])}
    out = []
    for stem in planned:
        if stem not in present:
            out.append({"step": step, "operation": kind, "image": stem + ".png",
                        "error": errors.get(stem, "not written (interrupted or failed)"), **details.get(stem, {})})
    return out


@reads_parameters(params=only_keys("params", "run_name", "object_name", "enable_qwen_augmentation",
                                   "enable_annotation", "enable_cv_augmentation"))
def record_pipeline_state(scene_metadata: list, qwen_summary: dict, scene_dataset: dict, augmented: dict,
                          yolo_dataset: YoloItems, cv_combined: YoloItems, scene_manifest: dict | None,
                          augment_manifest: dict | None, params: dict) -> dict:
    """``pipeline_state.json``: generated images, failed operations, completed steps."""
    planned4 = [m["image"][:-4] for m in scene_metadata]
    details4 = {m["image"][:-4]: {"perspective": m["perspective"], "prompt_index": m["prompt_index"],
                                  "seed": m["seed"]} for m in scene_metadata}
    planned5 = [i["image"][:-4] for i in qwen_summary.get("items", [])]
    details5 = {i["image"][:-4]: {"source": i["source"], "prompt": i["prompt"], "seed": i["seed"]}
                for i in qwen_summary.get("items", [])}
    failed = (_failures(planned4, scene_dataset, scene_manifest, 4, "scene_generation", details4)
              + _failures(planned5, augmented, augment_manifest, 5, "qwen_augmentation", details5))
    completed = [1, 2, 3]
    if not any(f["step"] == 4 for f in failed):
        completed.append(4)
    if params["enable_qwen_augmentation"] and not any(f["step"] == 5 for f in failed):
        completed.append(5)
    if params["enable_annotation"] and yolo_dataset.items:
        completed.append(6)
    if params["enable_cv_augmentation"] and cv_combined.items:
        completed.append(7)
    return {
        "run_name": params.get("run_name"),
        "object_name": params["object_name"],
        "completed_steps": completed,
        "generated_images": {
            "04_dataset": sorted(k + ".png" for k in scene_dataset),
            "05_qwen_augmented_images": sorted(k + ".png" for k in augmented),
            "06_yolo_dataset": sorted(yolo_dataset.items),
            "07_cv_combined_dataset": sorted(cv_combined.items),
        },
        "failed_operations": failed,
        "retry": ("re-run with the same run_name to re-attempt the failed operations "
                  "(e.g. kedro run --pipeline=reference_object --params run_name=<name>)") if failed else None,
    }


__all__ = [
    "annotate_dataset", "annotation_report", "combine_cv_dataset", "combine_qwen_images", "cv_augment_dataset",
    "generate_perspectives", "generate_scene_dataset", "generate_scene_prompts", "make_reference_mask",
    "qwen_augment", "record_pipeline_state", "white_background",
]
