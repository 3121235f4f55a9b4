"""The text-to-image interface: a prompt (and the scene's plan) in, an RGB image out.

Generative backends follow ``prompt``; the embedded ``procedural`` renderer cannot read free
text, so each request also carries the scene's ``archetype``, ``variation_tags`` and
``camera`` (the same facts the prompt was written from) in ``options``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

BACKEND_MODULES = ("procedural", "diffusers_local", "openai_images", "gemini")


class TextToImageError(RuntimeError):
    """An image could not be generated for one item (recorded per item; the batch goes on)."""


@dataclass
class TextToImageRequest:
    prompt: str
    seed: int = 0
    width: int = 2048
    height: int = 1152
    negative_prompt: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class TextToImage(Protocol):
    name: str

    def health_check(self) -> None:
        """Raise :class:`TextToImageError` with an actionable message if it cannot serve."""

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        """Return an ``H×W×3`` ``uint8`` RGB image."""


_REGISTRY: dict[str, Callable[..., TextToImage]] = {}


def register_text_to_image(name: str) -> Callable:
    """Class decorator: make a backend buildable by ``backend: <name>``."""

    def decorate(factory):
        _REGISTRY[name] = factory
        return factory

    return decorate


def _load_backends() -> None:
    for module in BACKEND_MODULES:
        try:
            importlib.import_module(f"sdg_factory.backends.text_to_image.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sdg_factory.backends.text_to_image.{module}":
                raise


def build_text_to_image(config: dict[str, Any]) -> TextToImage:
    """Build the backend named by ``config['backend']`` with the rest of ``config``."""
    _load_backends()
    config = dict(config)
    name = config.pop("backend", "procedural")
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown text-to-image backend {name!r} (parameter scene_generation.image.backend); "
            f"available: {sorted(_REGISTRY)}"
        )
    return _REGISTRY[name](**config)


def as_rgb_uint8(image: Any, source: str) -> np.ndarray:
    """Normalise a backend's output (PIL image, float or uint8 array, RGBA) to RGB ``uint8``."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating):
            array = np.clip(np.nan_to_num(array) * 255 + 0.5, 0, 255).astype(np.uint8)
        else:
            array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.dstack([array] * 3)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) == 0:
        raise TextToImageError(f"{source} returned an image of shape {array.shape}; expected H×W×3")
    return np.ascontiguousarray(array[..., :3])


def decode_bytes(data: bytes, source: str) -> np.ndarray:
    """Decode PNG/JPEG/WebP bytes from an endpoint to RGB ``uint8``."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise TextToImageError(f"{source} returned {len(data)} bytes that are not a decodable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
