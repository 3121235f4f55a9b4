"""The image-edit interface shared by the PCBA restyle and the reference-object pipeline.

Every backend turns an :class:`EditRequest` into an edited image. Generative backends
(HTTP endpoints, diffusers) follow the request's ``prompt``; the embedded ``classical``
backend cannot read free text, so each request also names its ``task``, and the classical
backend runs the plain OpenCV operation registered for that task.

Tasks (what the pipelines ask for):

==================  ====================================================================
``restyle``         PCBA ROI toward a destination lighting style (``style`` in ``options``)
``white_background`` cut the object out onto white (``mask`` = object mask, if known)
``place_in_scene``  put the object (``image`` + ``mask``) into ``background``
``augment``         lighting / weather / context edit of a whole image
==================  ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sdg_factory.backends.registry import Backend, Registry

EDIT_TASKS = ("restyle", "white_background", "place_in_scene", "augment")


class ImageEditError(RuntimeError):
    """An edit failed for one item (recorded per item; the batch goes on)."""


@dataclass
class EditRequest:
    """One edit: an RGB/RGBA ``uint8`` image, what to do with it, and a seed."""

    image: np.ndarray
    prompt: str
    task: str = "restyle"
    seed: int = 0
    negative_prompt: str = ""
    mask: np.ndarray | None = None
    background: np.ndarray | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in EDIT_TASKS:
            raise ValueError(f"unknown image-edit task {self.task!r}; expected one of {EDIT_TASKS}")


@runtime_checkable
class ImageEditor(Backend, Protocol):
    """An image-edit backend (its health check raises :class:`ImageEditError`)."""

    def edit(self, request: EditRequest) -> np.ndarray:
        """Return the edited image (``uint8``, same channel count as the input)."""


IMAGE_EDITORS: Registry[ImageEditor] = Registry("image-edit", {
    "classical": "sdg_factory.backends.image_edit.classical:ClassicalImageEditor",
    "openai_images": "sdg_factory.backends.image_edit.endpoints:OpenAIImagesEditor",
    "openai_chat": "sdg_factory.backends.image_edit.endpoints:OpenAIChatEditor",
    "nim": "sdg_factory.backends.image_edit.endpoints:NimImageEditor",
    "diffusers": "sdg_factory.backends.image_edit.diffusers_local:DiffusersImageEditor",
}, parameter="backend", section="image edit {name}", default="classical")
