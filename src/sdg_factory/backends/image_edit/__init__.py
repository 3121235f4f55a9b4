"""Image edit: one interface for restyle, white background, place-in-scene and augmentation."""

from sdg_factory.backends.image_edit.base import (
    EDIT_TASKS,
    EditRequest,
    ImageEditError,
    ImageEditor,
    build_image_editor,
    register_image_editor,
)

__all__ = [
    "EDIT_TASKS",
    "EditRequest",
    "ImageEditError",
    "ImageEditor",
    "build_image_editor",
    "register_image_editor",
]
