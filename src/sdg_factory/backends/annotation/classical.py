"""``classical`` annotation: the reference's colour/texture model seeds GrabCut in each image."""

from __future__ import annotations

import numpy as np

from sdg_factory.imaging.segmentation import ReferenceModel, annotate_with_reference


class ClassicalAnnotator:
    name = "classical"
    per_image = True  # each image on its own (no batching gain): the step annotates in its pool tasks

    def __init__(self, reference_image: np.ndarray, reference_mask: np.ndarray, batch_size: int = 8,
                 grabcut_iterations: int = 4) -> None:
        self.model = ReferenceModel.fit(reference_image[..., :3], reference_mask)
        self.batch_size = int(batch_size)
        self.iterations = int(grabcut_iterations)

    def annotate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [annotate_with_reference(self.model, image[..., :3], self.iterations) for image in images]
