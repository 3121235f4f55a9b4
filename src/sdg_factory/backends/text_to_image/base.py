"""The text-to-image interface: a prompt (and the scene's plan) in, an RGB image out.

Generative backends follow ``prompt``; the embedded ``procedural`` renderer cannot read free
text, so each request also carries the scene's ``archetype``, ``variation_tags`` and
``camera`` (the same facts the prompt was written from) in ``options``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Backend, Registry


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
class TextToImage(Backend, Protocol):
    """A text-to-image backend (its health check raises :class:`TextToImageError`)."""

    def generate(self, request: TextToImageRequest) -> np.ndarray:
        """Return an ``H×W×3`` ``uint8`` RGB image."""


TEXT_TO_IMAGE: Registry[TextToImage] = Registry("text-to-image", {
    "procedural": "sdg_factory.backends.text_to_image.procedural:ProceduralRooms",
    "diffusers": "sdg_factory.backends.text_to_image.diffusers_local:DiffusersTextToImage",
    "openai_images": "sdg_factory.backends.text_to_image.openai_images:OpenAIImages",
    "gemini": "sdg_factory.backends.text_to_image.gemini:GeminiImages",
}, parameter="scene_generation.image.backend", section="scene_generation.image", default="procedural")


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
