"""The annotator interface: learn the object from the reference, then segment images in batches."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Annotator(Protocol):
    name: str
    batch_size: int

    def annotate(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """One ``uint8`` 0/255 object mask per image (empty where the object is not found)."""


_REGISTRY: dict[str, Callable[..., Annotator]] = {}


def register_annotator(name: str) -> Callable:
    def decorate(factory):
        _REGISTRY[name] = factory
        return factory

    return decorate


def build_annotator(config: dict[str, Any], reference_image: np.ndarray, reference_mask: np.ndarray) -> Annotator:
    """Build ``config['backend']`` (``classical`` or ``persam_sam2``) for this reference."""
    for module in ("classical", "persam_sam2"):
        importlib.import_module(f"sdg_factory.backends.annotation.{module}")
    config = dict(config)
    name = config.pop("backend", "classical")
    if name not in _REGISTRY:
        raise ValueError(f"unknown annotation backend {name!r} (parameter 'annotation.backend'); "
                         f"choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[name](reference_image=reference_image, reference_mask=reference_mask, **config)
