"""The anomaly-generation interface.

A backend turns an :class:`AnomalyRequest` — a clean RGB ROI, the placement mask of one
defect, the ROI's semantic regions, a prompt and a seed — into the defective ROI. Whatever the
backend paints, the result is composited so that pixels outside the mask equal the clean
image bit for bit: the placement mask *is* the label mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Registry
from sdg_factory.imaging.defect_synthesis import composite


class AnomalyGenerationError(RuntimeError):
    """A backend cannot serve (missing checkpoint, wrong folder) or failed on one item."""


@dataclass
class AnomalyRequest:
    image: np.ndarray                   # clean ROI, RGB uint8
    mask: np.ndarray                    # placement, uint8 0/255, same height and width
    defect_type: str
    material: str = ""
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""


@runtime_checkable
class AnomalyGenerator(Protocol):
    name: str

    def generate(self, request: AnomalyRequest) -> np.ndarray:
        """The defective ROI (RGB uint8, same size); equal to ``request.image`` outside the mask."""


ANOMALY_GENERATORS: Registry[AnomalyGenerator] = Registry("anomaly-generation", {
    "procedural": "sdg_factory.backends.anomaly_generation.procedural:ProceduralAnomalyGenerator",
    "diffusers": "sdg_factory.backends.anomaly_generation.diffusers_inpaint:DiffusersInpaintGenerator",
}, parameter="texture_defect_day0.backend", section="texture_defect_day0.{name}", passed_by_builder=("checkpoint",))


def finish(request: AnomalyRequest, painted: np.ndarray) -> np.ndarray:
    """Composite a backend's output onto the clean ROI through the placement mask."""
    painted = np.asarray(painted)
    if painted.shape[:2] != request.image.shape[:2]:
        raise AnomalyGenerationError(f"backend returned {painted.shape[:2]}, expected {request.image.shape[:2]}")
    return composite(request.image, painted[..., :3], request.mask)
