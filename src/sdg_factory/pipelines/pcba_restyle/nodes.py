"""augment-image-edit (pcba_good_image_generation.md): ROIs restyled, then registered back.

``usd2roi-components/crop/<MAT>/<cell>/normal_img/<NNNN>.png`` goes through the chosen
image-edit backend (the Qwen OVSL2SL endpoint in the document; the classical photometric
restyle by default) into ``augment/edited/``; in the same pool task the edit is registered back
onto its crop and written to ``augment/crop/<MAT>/<cell>/<NNNN>.png``, pixel-aligned with
``cad_mask/<NNNN>_cad_mask.png``. Every ROI is a lazy partition: a failing one is recorded in
the failure manifest and a re-run with the same ``run_name`` retries only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.backends.image_edit import IMAGE_EDITORS, EditRequest, ImageEditError, ImageEditor
from sdg_factory.cookbooks import CookbookError, require
from sdg_factory.datasets.edited_crops import EditSlot
from sdg_factory.fingerprints import per_item
from sdg_factory.imaging.registration import RegisteredEdit, register, warp_to_reference
from sdg_factory.pcb.roi import Roi
from sdg_factory.redaction import redact_url
from sdg_factory.seeding import item_seed

HTTP_BACKENDS = ("openai_images", "openai_chat", "nim")
COOKBOOK = "parameters_pcba_restyle.yml: pcba_restyle.cookbook"


def image_edit_config(backend: str, endpoint: str, model: str, backends: dict[str, dict]) -> dict[str, Any]:
    """The ``IMAGE_EDITORS.build_from`` config: the backend's own settings plus endpoint and model."""
    if backend not in backends:
        raise CookbookError(
            f"image_edit_backend is {backend!r} but parameters_pcba_restyle.yml has no "
            f"pcba_restyle.backends.{backend} section; choose one of {sorted(backends)}"
        )
    config = {"backend": backend, **(backends[backend] or {})}
    if backend in HTTP_BACKENDS:
        config.update(endpoint=endpoint, model=model)
    elif backend == "diffusers":
        config.setdefault("model", model)
    return config


@per_item("roi_crops")
def restyle_and_register_rois(
    roi_crops: dict[str, Callable[[], Roi]],
    image_edit_backend: str,
    image_edit_endpoint: str,
    image_edit_model: str,
    pcba_restyle: dict[str, Any],
    run_seed: int,
) -> tuple[dict[str, Callable[[], RegisteredEdit]], dict[str, EditSlot], dict[str, Any]]:
    """Send every ROI's ``normal_img`` through the image-edit backend, then align the edit with
    its crop: lazily, one task per ROI on the executor's workers.

    Each task decodes its crop once, makes the edit (or reads it back when ``augment/edited``
    already holds it), registers it onto the crop, records the recovered transform and resamples
    the edit into the crop's frame. Returns those tasks (``augmented_crops``), the edits they make
    (``edited_crops``: the same edit, written once by its task) and the resolved cookbook
    (persisted with the run, so the endpoint's user-info and key-like query values are redacted
    in it). An edit that cannot be aligned (score below ``min_score``) is not written to
    ``augment/crop``: its partition fails with the reason, so that folder never holds an image
    off its ``cad_mask``; its record still says why (:func:`registration_records`).
    """
    cookbook = dict(pcba_restyle["cookbook"])
    require(cookbook, ["prompt"], COOKBOOK)
    editor = IMAGE_EDITORS.build_from(
        image_edit_config(image_edit_backend, image_edit_endpoint, image_edit_model, pcba_restyle["backends"])
    )
    if roi_crops:
        editor.health_check()  # an unreachable endpoint fails here, before the batch
    seed = run_seed if cookbook.get("seed") is None else int(cookbook["seed"])
    options = dict(pcba_restyle.get("registration") or {})
    min_score = float(options.pop("min_score", 0.0))
    edits, aligned = {}, {}
    for pid, loader in roi_crops.items():
        edits[pid] = EditSlot(edit_roi, editor, loader, cookbook, item_seed(seed, pid))
        aligned[pid] = partial(register_roi, edits[pid], loader, options, min_score)
    resolved = {**cookbook, "seed": seed, "image_edit_backend": image_edit_backend,
                "image_edit_endpoint": redact_url(image_edit_endpoint) if image_edit_backend in HTTP_BACKENDS else None,
                "image_edit_model": image_edit_model}
    return aligned, edits, resolved


def edit_roi(editor: ImageEditor, load_roi: Callable[[], Roi], cookbook: dict, seed: int,
             roi: Roi | None = None) -> np.ndarray:
    """One ROI: its RGB ``normal_img`` → the backend → an RGB image of the same size (``roi``:
    the crop when the caller has already decoded it)."""
    roi = load_roi() if roi is None else roi
    image = np.ascontiguousarray(roi.normal_img[..., :3])
    options = {k: cookbook[k] for k in ("steps", "guidance") if cookbook.get(k) is not None}
    request = EditRequest(image=image, prompt=cookbook["prompt"], task="restyle", seed=seed,
                          negative_prompt=cookbook.get("negative_prompt") or "", options=options)
    edited = np.asarray(editor.edit(request))
    if edited.dtype != np.uint8 or edited.shape[:2] != image.shape[:2] or edited.ndim != 3:
        raise ImageEditError(
            f"{editor.name} returned {edited.dtype} {edited.shape} for a {image.shape} crop "
            f"of {roi.partition_id}; expected uint8 of the crop's size"
        )
    return np.ascontiguousarray(edited[..., :3])


def register_roi(edit: EditSlot, load_roi: Callable[[], Roi], options: dict, min_score: float) -> RegisteredEdit:
    """One ROI's task: its crop's image decoded once, its edit (made now, or read back) registered onto
    it and resampled into its frame. Neither the edit nor the registration reads the crop's
    ``cad_mask``: a loader that can skip decoding it (``image_only``) does."""
    image_only = getattr(load_roi, "image_only", None)
    roi = image_only() if image_only is not None else load_roi()
    edited = edit.edit(roi=roi)
    _, found = register(edited, roi.normal_img[..., :3], **options)
    accepted = found.score >= min_score
    record = {"partition": roi.partition_id, "material": roi.material, "cell": roi.cell, "stem": roi.stem,
              "class_name": roi.class_name, "accepted": accepted, **found.to_record()}
    if not accepted:
        return RegisteredEdit(None, record, f"registration score {found.score} < min_score {min_score}")
    if found.method == "identity":  # the edit as it is: the PNG its task just wrote, when it wrote one
        return RegisteredEdit(edited, record, encoded=edit.encoded)
    matrix = np.asarray(found.matrix, np.float32)  # the recorded (rounded) transform
    return RegisteredEdit(warp_to_reference(edited, matrix, (edited.shape[1], edited.shape[0])), record)


def registration_records(augmented_crops: dict[str, Callable], registration_items: dict[str, dict]) -> list[dict]:
    """One record per registered ROI (its transform, score and whether it was accepted), sorted by
    ROI: the records the registration tasks returned, which ``augmented_crops``' save kept in its
    manifest (``augmented_crops`` is an input so that this runs after them)."""
    return [registration_items[pid] for pid in sorted(registration_items)]
