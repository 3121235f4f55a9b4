"""The perspective-generator interface: one object on white in, one image per camera pose out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Registry
from sdg_factory.imaging.views import ViewSpec


@runtime_checkable
class PerspectiveGenerator(Protocol):
    name: str
    # False where one model call makes every view (zero123): then all views get the same seed
    seed_per_view: bool

    def views(self, requested: list[ViewSpec]) -> list[ViewSpec]:
        """The poses this backend will produce (``zero123`` has six fixed ones)."""

    def generate(self, image: np.ndarray, mask: np.ndarray, view: ViewSpec, index: int, seed: int) -> np.ndarray:
        """The object seen from ``view``, RGB ``uint8`` on white."""


PERSPECTIVE_GENERATORS: Registry[PerspectiveGenerator] = Registry("perspective", {
    "classical": "sdg_factory.backends.perspectives.classical:ClassicalPerspectives",
    "qwen_multicamera": "sdg_factory.backends.perspectives.qwen_multicamera:QwenMultiCamera",
    "zero123": "sdg_factory.backends.perspectives.zero123:Zero123PlusPlus",
}, parameter="perspective_generator", section="perspectives.{name}")
