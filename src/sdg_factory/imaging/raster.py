"""A top-down orthographic z-buffer rasterizer for triangles, in numpy.

The camera looks down -Z; image columns grow with world +x and rows with world -y. Only
triangles facing the camera (normal z > 0) are drawn, so coplanar back faces never fight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Raster:
    triangle: np.ndarray  # (H, W) int32 index of the visible triangle, -1 where empty
    footprint: np.ndarray  # (n_owners,) pixels each owner covers ignoring occlusion


def rasterize(triangles: np.ndarray, owners: np.ndarray, n_owners: int,
              rect: tuple[float, float, float, float], width: int, height: int) -> Raster:
    """Rasterize ``triangles`` (T, 3, 3) over world ``rect`` = (xmin, xmax, ymin, ymax)."""
    xmin, xmax, ymin, ymax = rect
    tri_map = np.full((height, width), -1, np.int32)
    zbuf = np.full((height, width), -np.inf, np.float64)
    footprint = np.zeros(n_owners, np.int64)
    if len(triangles) == 0:
        return Raster(tri_map, footprint)
    u = (triangles[..., 0] - xmin) / (xmax - xmin) * width
    v = (ymax - triangles[..., 1]) / (ymax - ymin) * height
    z = triangles[..., 2]
    normals_z = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])[:, 2]
    for t in np.flatnonzero(normals_z > 1e-12):
        (u0, u1, u2), (v0, v1, v2) = u[t], v[t]
        area = (u1 - u0) * (v2 - v0) - (u2 - u0) * (v1 - v0)
        if abs(area) < 1e-12:
            continue
        c0 = max(int(np.floor(min(u0, u1, u2) - 0.5)), 0)
        c1 = min(int(np.ceil(max(u0, u1, u2) - 0.5)), width - 1)
        r0 = max(int(np.floor(min(v0, v1, v2) - 0.5)), 0)
        r1 = min(int(np.ceil(max(v0, v1, v2) - 0.5)), height - 1)
        if c0 > c1 or r0 > r1:
            continue
        pu = np.arange(c0, c1 + 1, dtype=np.float64)[None, :] + 0.5
        pv = np.arange(r0, r1 + 1, dtype=np.float64)[:, None] + 0.5
        w0 = ((u1 - pu) * (v2 - pv) - (u2 - pu) * (v1 - pv)) / area
        w1 = ((u2 - pu) * (v0 - pv) - (u0 - pu) * (v2 - pv)) / area
        w2 = 1.0 - w0 - w1
        inside = (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
        if not inside.any():
            continue
        footprint[owners[t]] += int(inside.sum())
        depth = w0 * z[t, 0] + w1 * z[t, 1] + w2 * z[t, 2]
        zb = zbuf[r0 : r1 + 1, c0 : c1 + 1]
        win = inside & (depth > zb)
        zb[win] = depth[win]
        tri_map[r0 : r1 + 1, c0 : c1 + 1][win] = t
    return Raster(tri_map, footprint)


def triangle_normals(triangles: np.ndarray) -> np.ndarray:
    n = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
