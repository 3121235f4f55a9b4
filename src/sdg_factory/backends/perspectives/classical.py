"""``classical``: 2.5-D homography views of the cut-out (no weights, exact masks)."""

from __future__ import annotations

import numpy as np

from sdg_factory.imaging.views import ViewSpec, render_view


class ClassicalPerspectives:
    name = "classical"
    seed_per_view = True

    def __init__(self, fill: float = 0.8) -> None:
        self.fill = float(fill)

    def views(self, requested: list[ViewSpec]) -> list[ViewSpec]:
        return list(requested)

    def generate(self, image: np.ndarray, mask: np.ndarray, view: ViewSpec, index: int, seed: int) -> np.ndarray:
        rgb, _ = render_view(image, mask, view, fill=self.fill)
        return rgb
