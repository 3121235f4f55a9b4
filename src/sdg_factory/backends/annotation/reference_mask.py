"""The reference mask (the document's mask-labeler utility): classical by default, SAM2 with a point."""

from __future__ import annotations

import numpy as np

from sdg_factory.imaging.segmentation import clean_mask, reference_mask_classical


def make_reference_mask(image: np.ndarray, backend: str = "classical", point: list | None = None,
                        sam2: dict | None = None) -> np.ndarray:
    """The object's mask in the reference photo, ``uint8`` 0/255.

    ``classical``: backdrop colours from the border, saliency, GrabCut. ``sam2``: SAM2 prompted
    with ``point`` ([x, y] on the object; the image centre when not given), best of its three
    masks by predicted IoU.
    """
    rgb = np.ascontiguousarray(image[..., :3])
    if backend == "classical":
        return reference_mask_classical(rgb)
    if backend != "sam2":
        raise ValueError(f"unknown reference_mask.backend {backend!r}; choose 'classical' or 'sam2'")
    import torch

    from sdg_factory.backends.annotation.sam2_models import load_sam2_predictor, sam2_options

    predictor = load_sam2_predictor(**sam2_options(sam2, "reference_mask.sam2"))
    h, w = rgb.shape[:2]
    xy = np.asarray(point if point is not None else [w / 2, h / 2], np.float32).reshape(1, 2)
    with torch.inference_mode():
        predictor.set_image(rgb)
        masks, scores, _ = predictor.predict(point_coords=xy, point_labels=np.array([1]), multimask_output=True)
    best = masks[int(np.argmax(scores))] > 0
    return (clean_mask(best, min_fraction=0.02) * 255).astype(np.uint8)
