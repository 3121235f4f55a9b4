"""The annotator interface: learn the object from the reference, then segment images in batches."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.config_keys import accepted_keys, check_keys


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


_FROM_BUILDER = ("reference_image", "reference_mask")


def annotator_options(config: dict[str, Any], section: str = "annotation") -> tuple[str, dict[str, Any]]:
    """``(backend, constructor keyword arguments)`` from an annotation section, checked.

    The section may also hold another backend's sub-section (``sam2`` while ``classical`` is
    chosen): such keys are left out; any other unknown key is an error naming it.
    """
    for module in ("classical", "persam_sam2"):
        importlib.import_module(f"sdg_factory.backends.annotation.{module}")
    config = dict(config)
    name = config.pop("backend", "classical")
    if name not in _REGISTRY:
        raise ValueError(f"unknown annotation backend {name!r} (parameter '{section}.backend'); "
                         f"choose one of {sorted(_REGISTRY)}")
    own = accepted_keys(_REGISTRY[name], _FROM_BUILDER) or set()
    others = set().union(*(accepted_keys(f, _FROM_BUILDER) or set() for f in _REGISTRY.values()))
    check_keys(_REGISTRY[name], config, section, _FROM_BUILDER, also_allowed=others)
    return name, {k: v for k, v in config.items() if k in own}


def build_annotator(config: dict[str, Any], reference_image: np.ndarray, reference_mask: np.ndarray) -> Annotator:
    """Build ``config['backend']`` (``classical`` or ``persam_sam2``) for this reference."""
    name, options = annotator_options(config)
    return _REGISTRY[name](reference_image=reference_image, reference_mask=reference_mask, **options)
