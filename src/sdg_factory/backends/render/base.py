"""The render-backend interface and its registry.

A backend turns a board's primitives and scan-grid cells into ``{cell: callable}``, each
callable returning that cell's :class:`~sdg_factory.pcb.render.RenderCell` when the render
folder saves it (lazily, in whichever executor process saves that cell).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

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


_REGISTRY: dict[str, Callable[..., RenderBackend]] = {}


def register_render_backend(name: str) -> Callable:
    """Class decorator: make a backend buildable by name (``render_backend=<name>``)."""

    def decorate(factory: Callable[..., RenderBackend]):
        _REGISTRY[name] = factory
        return factory

    return decorate


def build_render_backend(name: str, settings: dict[str, Any] | None = None) -> RenderBackend:
    """The backend ``name`` built from its own section of ``settings`` (``pcba_render``):
    ``{"blender": {...}}`` gives the ``blender`` backend its settings; the others are ignored."""
    from sdg_factory.backends.render import blender, rasterizer  # noqa: F401

    name = str(name or "rasterizer")
    if name not in _REGISTRY:
        raise ValueError(f"unknown render backend {name!r} (parameter 'render_backend'); "
                         f"available: {sorted(_REGISTRY)}")
    section = (settings or {}).get(name) or {}
    if not isinstance(section, dict):
        raise ValueError(f"pcba_render.{name} must be a mapping of settings, not {type(section).__name__}")
    try:
        return _REGISTRY[name](**section)
    except TypeError as exc:
        raise ValueError(f"pcba_render.{name} has a setting the {name!r} render backend does not take "
                         f"({exc}); see docs/backends.md#pcba-rendering") from exc
