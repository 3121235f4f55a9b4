"""The embedded ``classical`` image editor: plain OpenCV operations, one per task.

:data:`CLASSICAL_TASKS` maps each task of the image-edit interface to a small adapter over the
maths in ``imaging/`` (``restyle.py``, ``scene_words.py``, ``backdrop.py``, ``placement.py``,
``weather.py``), which know nothing of backends: the layers point down only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sdg_factory.backends.image_edit.base import EditRequest, ImageEditError
from sdg_factory.imaging.backdrop import render_backdrop
from sdg_factory.imaging.placement import CompositingError, cutout_on_white, place_in_scene
from sdg_factory.imaging.restyle import restyle_image
from sdg_factory.imaging.scene_words import scene_style
from sdg_factory.imaging.weather import augment_scene


def _request_rng(request: EditRequest) -> np.random.Generator:
    return np.random.default_rng(int(request.seed) & 0xFFFFFFFFFFFFFFFF)


def _report(options: dict, **values) -> None:
    """Hand extra results back to the caller through ``options['outputs']`` (a dict it owns)."""
    outputs = options.get("outputs")
    if isinstance(outputs, dict):
        outputs.update(values)


def restyle_task(request: EditRequest, style: dict | None = None, **_other_task_options: Any) -> np.ndarray:
    """``restyle``: ``style`` comes from the editor's settings (``pcba_restyle.backends.classical``)."""
    return restyle_image(request.image, style, seed=request.seed)


def white_background_task(request: EditRequest, **options) -> np.ndarray:
    """Cut the object out onto white through ``request.mask`` (estimated when missing)."""
    mask = request.mask
    if mask is None:
        from sdg_factory.imaging.segmentation import reference_mask_classical

        mask = reference_mask_classical(request.image[..., :3])
    out = cutout_on_white(request.image[..., :3], mask, float(options.get("feather", 1.0)))
    _report(options, mask=((np.asarray(mask) > 0) * 255).astype(np.uint8))
    return out


def place_in_scene_task(request: EditRequest, **options) -> np.ndarray:
    """Place ``request.image`` (object; ``request.mask`` its mask) into ``request.background``.

    Without a background, one is painted from ``request.prompt`` (``render_backdrop``) at
    ``options['size']`` (``[width, height]``, default 640×480). ``options['outputs']``, a dict
    the caller passes, receives ``mask`` (the exact composite mask, uint8 0/255), ``placement``
    and ``style``.
    """
    if request.mask is None:
        raise ImageEditError("place_in_scene needs the object's mask (EditRequest.mask)")
    rng = _request_rng(request)
    width, height = options.get("size") or (640, 480)
    if request.background is None:
        scene, style = render_backdrop(request.prompt, (int(width), int(height)), rng)
    else:
        scene = request.background[..., :3]
        style = scene_style(request.prompt, rng)
    composite, mask, place = place_in_scene(
        request.image[..., :3], request.mask, scene, rng, horizon=style.horizon, scale=style.scale,
        light_from_left=style.light_from_left, grain=float(options.get("grain", 2.0)),
    )
    _report(options, mask=mask, placement=place.as_dict(), style={"texture": style.texture,
                                                                  "clutter": list(style.clutter)})
    return composite


def augment_task(request: EditRequest, **options) -> np.ndarray:
    """Lighting / weather edit of the whole image, chosen by the prompt's words."""
    out, effects = augment_scene(request.image, request.prompt, _request_rng(request))
    _report(options, effects=effects, geometry_preserved=True)
    return out


#: task -> ``fn(request, **options) -> image``
CLASSICAL_TASKS: dict[str, Callable[..., np.ndarray]] = {
    "restyle": restyle_task,
    "white_background": white_background_task,
    "place_in_scene": place_in_scene_task,
    "augment": augment_task,
}


class ClassicalImageEditor:
    """Runs on any CPU with no weights; its settings are defaults merged into each request's
    options: ``style`` (restyle), ``feather`` (white background), ``size`` and ``grain``
    (place in scene)."""

    name = "classical"

    def __init__(self, style: dict | None = None, feather: float | None = None,
                 size: list[int] | None = None, grain: float | None = None) -> None:
        given = {"style": style, "feather": feather, "size": size, "grain": grain}
        self.options = {k: v for k, v in given.items() if v is not None}

    def health_check(self) -> None:
        return None

    def edit(self, request: EditRequest) -> np.ndarray:
        if request.task not in CLASSICAL_TASKS:
            raise ImageEditError(
                f"the classical image editor has no operation for task {request.task!r} "
                f"(it has {sorted(CLASSICAL_TASKS)})"
            )
        try:
            return CLASSICAL_TASKS[request.task](request, **{**self.options, **request.options})
        except CompositingError as exc:
            raise ImageEditError(str(exc)) from exc
