"""The copper layer of a board USD, seen from above.

Every visible prim whose material is ``copper`` becomes its top-down convex outline in world
millimetres (pads, via rings), grouped by component (the prim's parent under
``/World/Components``) so that a router never joins two pads of one part; a trace authored with
its centre line (``sdg:centerline``, ``sdg:width_mm``) is taken as that line; prims of material
``hole`` are drilled holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pxr import Usd

from sdg_factory.pcb.boards import CENTERLINE_ATTR, WIDTH_ATTR
from sdg_factory.pcb.usd_scene import load_primitives, scene_bounds

ROUTED_LABELS = ("trace", "via")


@dataclass(frozen=True)
class BoardCopper:
    polygons: list[np.ndarray]  # (N, 2) world mm, x right, y up
    groups: list[str]  # component of each polygon ("" = none)
    bounds: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the board (mm)
    routed: bool  # the USD carries traces or vias (labelled or named so)
    traces: list[tuple[np.ndarray, float]] = ()  # centre lines (K, 2) world mm, width mm
    holes: list[np.ndarray] = ()  # drilled holes, world mm outlines


def _group(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:4]) if len(parts) > 4 and parts[2] == "Components" else ""


def board_copper(stage: Usd.Stage) -> BoardCopper:
    """The copper outlines of ``stage`` and the board's extent."""
    prims = load_primitives(stage)
    copper = [p for p in prims if p.material == "copper"]
    polygons, groups, traces = [], [], []
    for p in copper:
        attr = stage.GetPrimAtPath(p.path).GetAttribute(CENTERLINE_ATTR)
        line = attr.Get() if attr and attr.HasAuthoredValue() else None
        if line is not None and len(line) >= 2:
            width = stage.GetPrimAtPath(p.path).GetAttribute(WIDTH_ATTR).Get()
            traces.append((np.array([[float(v[0]), float(v[1])] for v in line]), float(width)))
            continue
        polygons.append(_outline(p.triangles))
        groups.append(_group(p.path))
    holes = [_outline(p.triangles) for p in prims if p.material == "hole"]
    routed = bool(traces) or any(set(p.labels) & set(ROUTED_LABELS)
                                 or any(f"/{name.capitalize()}" in p.path for name in ROUTED_LABELS) for p in copper)
    bounds = scene_bounds(prims) if prims else (0.0, 0.0, 0.0, 0.0)
    return BoardCopper(polygons, groups, bounds, routed, traces, holes)


def _outline(triangles: np.ndarray) -> np.ndarray:
    return cv2.convexHull(triangles.reshape(-1, 3)[:, :2].astype(np.float32)).reshape(-1, 2).astype(np.float64)
