"""Image edit: one interface for restyle, white background, place-in-scene and augmentation."""

from sdg_factory.backends.image_edit.base import (
    EDIT_TASKS,
    IMAGE_EDITORS,
    EditRequest,
    ImageEditError,
    ImageEditor,
)

__all__ = [
    "EDIT_TASKS",
    "IMAGE_EDITORS",
    "EditRequest",
    "ImageEditError",
    "ImageEditor",
]
