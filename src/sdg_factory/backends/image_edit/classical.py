"""The embedded ``classical`` image editor: plain OpenCV operations, one per task.

Each task's operation lives beside the maths it uses and registers itself here with
:func:`register_classical_task`; the editor dispatches a request to its task.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from sdg_factory.backends.image_edit.base import EditRequest, ImageEditError, register_image_editor

CLASSICAL_TASKS: dict[str, Callable[..., np.ndarray]] = {}

# modules that register classical task operations (each may not exist yet)
_TASK_MODULES = ("sdg_factory.imaging.restyle", "sdg_factory.imaging.compositing")


def register_classical_task(task: str) -> Callable:
    """Decorator: ``fn(request: EditRequest, **options) -> np.ndarray`` serves ``task``."""

    def decorate(fn):
        CLASSICAL_TASKS[task] = fn
        return fn

    return decorate


def _load_task_modules() -> None:
    for module in _TASK_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


@register_image_editor("classical")
class ClassicalImageEditor:
    """Runs on any CPU with no weights; ``options`` are defaults merged into each request's."""

    name = "classical"

    def __init__(self, **options) -> None:
        self.options = options
        _load_task_modules()

    def health_check(self) -> None:
        return None

    def edit(self, request: EditRequest) -> np.ndarray:
        _load_task_modules()  # an editor unpickled on a fresh worker process has an empty registry
        if request.task not in CLASSICAL_TASKS:
            raise ImageEditError(
                f"the classical image editor has no operation for task {request.task!r} "
                f"(it has {sorted(CLASSICAL_TASKS)})"
            )
        return CLASSICAL_TASKS[request.task](request, **{**self.options, **request.options})
