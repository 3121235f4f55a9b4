"""The copper layer of a board USD, seen from above: one convex outline per copper prim.

Every visible prim whose material is ``copper`` (pads today; traces and vias when the board
carries them) becomes its top-down outline in world millimetres, grouped by component (the
prim's parent under ``/World/Components``), so that a router never joins two pads of one part.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pxr import Usd

from sdg_factory.pcb.usd_scene import load_primitives, scene_bounds

ROUTED_LABELS = ("trace", "via")


@dataclass(frozen=True)
class BoardCopper:
    polygons: list[np.ndarray]  # (N, 2) world mm, x right, y up
    groups: list[str]  # component of each polygon ("" = none)
    bounds: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the board (mm)
    routed: bool  # the USD carries traces or vias (labelled or named so)


def _group(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:4]) if len(parts) > 4 and parts[2] == "Components" else ""


def board_copper(stage: Usd.Stage) -> BoardCopper:
    """The copper outlines of ``stage`` and the board's extent."""
    prims = load_primitives(stage)
    copper = [p for p in prims if p.material == "copper"]
    polygons = [cv2.convexHull(p.triangles.reshape(-1, 3)[:, :2].astype(np.float32)).reshape(-1, 2).astype(np.float64)
                for p in copper]
    routed = any(set(p.labels) & set(ROUTED_LABELS) or any(f"/{name.capitalize()}" in p.path for name in ROUTED_LABELS)
                 for p in copper)
    bounds = scene_bounds(prims) if prims else (0.0, 0.0, 0.0, 0.0)
    return BoardCopper(polygons, [_group(p.path) for p in copper], bounds, routed)
