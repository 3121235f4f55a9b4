"""The perspective-generator interface: one object on white in, one image per camera pose out."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.config_keys import check_keys
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


_REGISTRY: dict[str, Callable[..., PerspectiveGenerator]] = {}
_MODULES = ("classical", "qwen_multicamera", "zero123")


def register_perspective_generator(name: str) -> Callable:
    def decorate(factory):
        _REGISTRY[name] = factory
        return factory

    return decorate


def build_perspective_generator(name: str, config: dict[str, Any] | None = None) -> PerspectiveGenerator:
    """Build backend ``name`` (the ``perspective_generator`` parameter) with its config section."""
    for module in _MODULES:
        importlib.import_module(f"sdg_factory.backends.perspectives.{module}")
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown perspective_generator {name!r} (parameter 'perspective_generator'); "
            f"choose one of {sorted(_REGISTRY)}"
        )
    config = dict(config or {})
    check_keys(_REGISTRY[name], config, f"perspectives.{name}")
    return _REGISTRY[name](**config)
