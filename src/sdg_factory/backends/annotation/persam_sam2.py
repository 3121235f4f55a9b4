"""``persam_sam2``: a PerSAM-style location prior from the reference, then SAM2 per image.

PerSAM (Zhang et al., 2023) learns nothing per object: the reference image's SAM features
under the reference mask are averaged into a target embedding; in each new image the cosine
similarity of every feature to it is a location prior. Its maximum is a positive point, its
minimum a negative point, and the box around the high-similarity region (the component that
holds the maximum) bounds the object. SAM2 (``sam2`` package) then segments with those prompts.
Images are encoded in batches (``SAM2ImagePredictor.set_image_batch``) and prompted in one
``predict_batch`` call per batch.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.backends.annotation.sam2_models import load_sam2_predictor, sam2_options


def _target_embedding(features, mask: np.ndarray):
    """Mean of the feature vectors under ``mask`` (features ``[1, C, h, w]``), L2-normalised."""
    import torch

    _, c, h, w = features.shape
    small = cv2.resize((mask > 0).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    weights = torch.from_numpy(small).to(features.device, features.dtype)
    if float(weights.sum()) <= 0:
        raise ValueError("the reference mask is empty at SAM2's feature resolution")
    emb = (features[0] * weights).sum(dim=(1, 2)) / weights.sum()
    return emb / emb.norm().clamp_min(1e-6)


def location_prior(similarity: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positive point, negative point (x, y) and box [x0, y0, x1, y1] from a similarity map."""
    h, w = similarity.shape
    pos = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
    neg = np.unravel_index(int(np.argmin(similarity)), similarity.shape)
    lo, hi = float(similarity.min()), float(similarity.max())
    high = (similarity >= lo + threshold * (hi - lo)).astype(np.uint8)
    _, labels = cv2.connectedComponents(high, connectivity=8)
    region = labels == labels[pos]
    ys, xs = np.nonzero(region)
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    return (np.array([pos[1], pos[0]], np.float32), np.array([neg[1], neg[0]], np.float32), box)


class PerSamSam2Annotator:
    name = "persam_sam2"

    def __init__(self, reference_image: np.ndarray, reference_mask: np.ndarray, batch_size: int = 4,
                 sam2: dict | None = None, prior_threshold: float = 0.5) -> None:
        import torch

        self.predictor = load_sam2_predictor(**sam2_options(sam2, "annotation.sam2"))
        self.batch_size = int(batch_size)
        self.prior_threshold = float(prior_threshold)
        with torch.inference_mode():
            self.predictor.set_image(np.ascontiguousarray(reference_image[..., :3]))
            self.target = _target_embedding(self.predictor._features["image_embed"], reference_mask)
        self.batches_encoded = 0

    def similarity(self, index: int, size: tuple[int, int]) -> np.ndarray:
        """Cosine similarity of image ``index`` of the current batch to the reference, at ``size`` (h, w)."""
        import torch

        feats = self.predictor._features["image_embed"][index]          # [C, h, w]
        feats = feats / feats.norm(dim=0, keepdim=True).clamp_min(1e-6)
        sim = torch.einsum("c,chw->hw", self.target, feats).float().cpu().numpy()
        # SAM2 resizes every image to a square input: the feature grid spans the whole image
        return cv2.resize(sim, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)

    def annotate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        out: list[np.ndarray] = []
        for start in range(0, len(images), self.batch_size):
            batch = [np.ascontiguousarray(im[..., :3]) for im in images[start:start + self.batch_size]]
            with torch.inference_mode():
                self.predictor.set_image_batch(batch)
                self.batches_encoded += 1
                points, labels, boxes = [], [], []
                for i, image in enumerate(batch):
                    pos, neg, box = location_prior(self.similarity(i, image.shape[:2]), self.prior_threshold)
                    points.append(np.stack([pos, neg]))
                    labels.append(np.array([1, 0], np.int32))
                    boxes.append(box)
                masks, scores, _ = self.predictor.predict_batch(point_coords_batch=points, point_labels_batch=labels,
                                                                box_batch=boxes, multimask_output=True)
            for m, s in zip(masks, scores, strict=False):
                best = m[int(np.argmax(s))] if m.ndim == 3 else m
                out.append(((best > 0) * 255).astype(np.uint8))
        return out
