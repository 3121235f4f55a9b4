"""``classical`` annotation: the reference's colour/texture model seeds GrabCut in each image."""

from __future__ import annotations

import numpy as np

from sdg_factory.imaging.segmentation import ReferenceModel, annotate_with_reference


class ClassicalAnnotator:
    name = "classical"
    per_image = True  # each image on its own (no batching gain): the step annotates in its pool tasks

    def __init__(self, reference_image: np.ndarray, reference_mask: np.ndarray, batch_size: int = 8,
                 grabcut_iterations: int = 4, grabcut_margin: float | None = None) -> None:
        self.model = ReferenceModel.fit(reference_image[..., :3], reference_mask)
        self.batch_size = int(batch_size)
        self.iterations = int(grabcut_iterations)
        # None: GrabCut on the whole image (the default: cv2.grabCut's labels); a fraction: on the
        # object's box grown by it, colour models of the box alone, slightly different masks
        # (checked, >= 0 or null, with the run's parameters: parameter_checks.models.Annotation)
        self.grabcut_margin = None if grabcut_margin is None else float(grabcut_margin)

    def annotate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [annotate_with_reference(self.model, image[..., :3], self.iterations,
                                        grabcut_margin=self.grabcut_margin) for image in images]
