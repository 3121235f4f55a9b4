"""``rasterizer``: the built-in orthographic z-buffer rasterizer (the default render backend)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sdg_factory.pcb.render import CellSpec, prim_bounds, prims_in, render_cell
from sdg_factory.pcb.usd_scene import Primitive


class RasterizerBackend:
    """Flat-shaded Lambert + Blinn-Phong per material, in numpy, milliseconds per cell."""

    name = "rasterizer"

    def describe(self) -> str:
        return "sdg_factory orthographic z-buffer rasterizer"

    def cells(self, cells: list[CellSpec], prims: list[Primitive], ids: dict[str, int],
              colors: dict[int, tuple], seed: int, stage: Any = None) -> dict[str, Callable]:
        bounds = prim_bounds(prims)
        return {c.cell: partial(render_cell, c, prims_in(prims, c.rect, bounds), ids, colors, int(seed))
                for c in cells}
