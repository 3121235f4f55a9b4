"""The render-backend interface and its registry.

A backend turns a board's primitives and scan-grid cells into ``{cell: callable}``, each
callable returning that cell's :class:`~sdg_factory.pcb.render.RenderCell` when the render
folder saves it (lazily, in whichever executor process saves that cell).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from sdg_factory.backends.registry import Registry
from sdg_factory.pcb.render import CellSpec
from sdg_factory.pcb.usd_scene import Primitive


@runtime_checkable
class RenderBackend(Protocol):
    name: str

    def describe(self) -> str:
        """One line for the render's ``metadata.json`` (``renderer``)."""

    def cells(self, cells: list[CellSpec], prims: list[Primitive], ids: dict[str, int],
              colors: dict[int, tuple], seed: int, stage: Any) -> dict[str, Callable]:
        """One lazy cell per scan-grid cell; ``stage`` is the board's ``Usd.Stage``."""


RENDER_BACKENDS: Registry[RenderBackend] = Registry("render", {
    "rasterizer": "sdg_factory.backends.render.rasterizer:RasterizerBackend",
    "blender": "sdg_factory.backends.render.blender:BlenderBackend",
}, parameter="render_backend", section="pcba_render")


def build_render_backend(name: str, settings: dict[str, Any] | None = None) -> RenderBackend:
    """The backend ``name`` built from its own section of ``settings`` (``pcba_render``):
    ``{"blender": {...}}`` gives the ``blender`` backend its settings; the others are ignored."""
    name = str(name or "rasterizer")
    if name not in RENDER_BACKENDS:
        RENDER_BACKENDS.reject(name)
    section = (settings or {}).get(name) or {}
    if not isinstance(section, dict):
        raise ValueError(f"pcba_render.{name} must be a mapping of settings, not {type(section).__name__}")
    return RENDER_BACKENDS.build(name, section, section=f"pcba_render.{name}")


def chosen_render_settings(values: dict[str, Any]) -> dict[str, Any]:
    """What a render node reads of ``pcba_render``: the chosen ``render_backend``'s section only
    (as :func:`build_render_backend` does), so another backend's settings never make its cells stale."""
    name = str(values.get("render_backend") or "rasterizer")
    return {name: (values.get("pcba_render") or {}).get(name)}
