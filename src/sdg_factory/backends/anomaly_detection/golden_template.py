"""``golden_template``: each image against its own golden reference (no fitting, no weights).

``{"backend": "golden_template", "jitter_px": 2, "max_shift_px": 4, "max_rotation_deg": 1.0}``.
The image maths is :func:`sdg_factory.imaging.golden_template.golden_template_map`
(registration, photometric normalisation, min/max envelope of the golden). The detector needs
no fitting (``needs_fit`` false) and one golden per image (``needs_golden``): call
``anomaly_maps(images, goldens)``. Its saved state is its settings only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdg_factory.imaging.golden_template import GoldenTemplateSettings, golden_template_map

ALGORITHM_VERSION = 1


@dataclass
class GoldenTemplateDetector(GoldenTemplateSettings):
    """Its settings are :class:`~sdg_factory.imaging.golden_template.GoldenTemplateSettings`."""

    name: str = field(default="golden_template", init=False)
    needs_fit: bool = field(default=False, init=False)
    needs_golden: bool = field(default=True, init=False)
    algorithm_version: int = field(default=ALGORITHM_VERSION, init=False)

    def fit(self, images: Sequence[np.ndarray]) -> GoldenTemplateDetector:
        return self  # the golden of each image is all it compares with

    def anomaly_maps(self, images: Sequence[np.ndarray], goldens: Sequence[np.ndarray] | None = None
                     ) -> list[np.ndarray]:
        images = list(images)
        goldens = list(goldens) if goldens is not None else []
        if len(goldens) != len(images):
            raise ValueError(f"golden_template compares each image with its golden: got {len(images)} image(s) "
                             f"and {len(goldens)} golden(s); put them in <dir>/golden/<same id>.png")
        return [self.anomaly_map(im, g) for im, g in zip(images, goldens, strict=False)]

    def anomaly_map(self, image: np.ndarray, golden: np.ndarray) -> np.ndarray:
        return golden_template_map(image, golden, GoldenTemplateSettings(**self.settings()))[0]

    def settings(self) -> dict[str, Any]:
        return {"max_shift_px": float(self.max_shift_px), "max_rotation_deg": float(self.max_rotation_deg),
                "rotation_step_deg": float(self.rotation_step_deg), "jitter_px": int(self.jitter_px),
                "photometric": bool(self.photometric), "smooth_sigma": float(self.smooth_sigma),
                "map_sigma": float(self.map_sigma), "border_px": int(self.border_px),
                "recover_extent": bool(self.recover_extent),
                "ecc_max_side": None if self.ecc_max_side is None else int(self.ecc_max_side)}

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> GoldenTemplateDetector:
        return self
