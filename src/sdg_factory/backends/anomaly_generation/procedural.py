"""``procedural``: the embedded anomaly generator (no weights): exact-mask defect synthesis.

The checkpoint folder (``<dig_url_root>/models/pcb``) may hold an ``sdg_model.json`` whose
``procedural`` section overrides nothing yet but is recorded; the backend needs no files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sdg_factory.backends.anomaly_generation.base import AnomalyRequest, finish
from sdg_factory.imaging.defect_synthesis import synthesize_defect


class ProceduralAnomalyGenerator:
    name = "procedural"

    def __init__(self, checkpoint: Any = None) -> None:
        self.checkpoint = checkpoint

    def generate(self, request: AnomalyRequest) -> np.ndarray:
        rng = np.random.default_rng(request.seed)
        painted = synthesize_defect(request.defect_type, request.image, request.mask, request.regions, rng)
        return finish(request, painted)
