"""The annotator interface: learn the object from the reference, then segment images in batches."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Registry, check_keys


@runtime_checkable
class Annotator(Protocol):
    name: str
    batch_size: int

    def annotate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """One ``uint8`` 0/255 object mask per image (empty where the object is not found)."""


ANNOTATORS: Registry[Annotator] = Registry("annotation", {
    "classical": "sdg_factory.backends.annotation.classical:ClassicalAnnotator",
    "persam_sam2": "sdg_factory.backends.annotation.persam_sam2:PerSamSam2Annotator",
}, parameter="annotation.backend", section="annotation", passed_by_builder=("reference_image", "reference_mask"))


def annotator_options(config: dict[str, Any], section: str = "annotation") -> tuple[str, dict[str, Any]]:
    """``(backend, constructor keyword arguments)`` from an annotation section, checked.

    The section may also hold a built-in backend's sub-section or keys (``sam2`` while
    ``classical`` is chosen): such keys are left out; any other unknown key is an error naming it.
    """
    config = dict(config)
    name = config.pop("backend", "classical")
    own = ANNOTATORS.accepted(name) or set()
    others = set().union(*(ANNOTATORS.accepted(n) or set() for n in ANNOTATORS.builtin()))
    check_keys(ANNOTATORS.factory(name), config, section, ANNOTATORS.passed_by_builder, also_allowed=others)
    return name, {k: v for k, v in config.items() if k in own}


def build_annotator(config: dict[str, Any], reference_image: np.ndarray, reference_mask: np.ndarray) -> Annotator:
    """Build ``config['backend']`` (``classical`` or ``persam_sam2``) for this reference."""
    name, options = annotator_options(config)
    return ANNOTATORS.build(name, options, reference_image=reference_image, reference_mask=reference_mask)
