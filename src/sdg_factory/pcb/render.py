"""usd2roi-render stage 1: a top-down orthographic scan grid of a board, Replicator-style.

For each grid cell ``x{i}_y{j}`` (``x0`` = largest world x, ``y0`` = largest world y; scanned
y-outer, x-inner) this renders what Kit's Replicator writes for a ``scan_grid`` render: an RGBA
image, a colourised semantic segmentation with its labels, and tight 2-D boxes with their
labels and prim paths. See docs/formats.md for the folder layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from sdg_factory.imaging.raster import rasterize, triangle_normals
from sdg_factory.imaging.semantic_colors import BACKGROUND, UNLABELLED, color_key, palette
from sdg_factory.imaging.shading import shade
from sdg_factory.pcb.usd_scene import Primitive
from sdg_factory.seeding import item_rng

BBOX_DTYPE = np.dtype([
    ("semanticId", "<u4"), ("x_min", "<i4"), ("y_min", "<i4"),
    ("x_max", "<i4"), ("y_max", "<i4"), ("occlusionRatio", "<f4"),
])


@dataclass
class RenderCell:
    """Everything a Replicator ``scan_grid`` render writes for one grid cell."""

    cell: str
    rgb: np.ndarray  # (H, W, 4) uint8
    semantic: np.ndarray  # (H, W, 4) uint8, colourised
    semantic_labels: dict[str, dict]  # "(r, g, b, a)" -> {"class": "a,b"}
    boxes: np.ndarray = field(default_factory=lambda: np.zeros(0, BBOX_DTYPE))
    box_labels: dict[str, dict] = field(default_factory=dict)  # "<semanticId>" -> {"class": ...}
    prim_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CellSpec:
    cell: str
    rect: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax (world)
    width: int
    height: int


def scan_grid(bounds: tuple[float, float, float, float], x_num: int, y_num: int,
              resolution: tuple[int, int], render_patches: int | None = None) -> list[CellSpec]:
    """The grid cells in scan order (y outer, x inner), capped at ``render_patches``.

    Cells tile ``bounds``; each covers the area its resolution needs for square pixels,
    centred on its grid rectangle.
    """
    xmin, xmax, ymin, ymax = bounds
    width, height = int(resolution[0]), int(resolution[1])
    cw, ch = (xmax - xmin) / x_num, (ymax - ymin) / y_num
    pixel = max(cw / width, ch / height)
    cells = []
    for j in range(y_num):
        for i in range(x_num):
            cx = xmax - (i + 0.5) * cw
            cy = ymax - (j + 0.5) * ch
            half_w, half_h = pixel * width / 2, pixel * height / 2
            cells.append(CellSpec(f"x{i}_y{j}", (cx - half_w, cx + half_w, cy - half_h, cy + half_h),
                                  width, height))
    return cells[: render_patches] if render_patches else cells


def semantic_ids(prims: list[Primitive]) -> dict[str, int]:
    """Label text (``"a,b"``) → semantic id; 0 and 1 are BACKGROUND and UNLABELLED."""
    texts = sorted({",".join(p.labels) for p in prims if p.labels})
    return {text: index + 2 for index, text in enumerate(texts)}


def prim_bounds(prims: list[Primitive]) -> np.ndarray:
    """Each primitive's (x min, x max, y min, y max) over its vertices, (N, 4), in the vertices'
    dtype; NaN for a primitive without triangles (inside no rectangle)."""
    sizes = np.array([p.triangles.size // 3 for p in prims], np.intp)
    filled = np.flatnonzero(sizes)
    bounds = np.full((len(prims), 4), np.nan)
    if filled.size:
        points = np.concatenate([prims[k].triangles.reshape(-1, 3) for k in filled])
        starts = np.r_[0, np.cumsum(sizes[filled])[:-1]]
        bounds = bounds.astype(points.dtype)
        for column, (axis, reduce) in enumerate(((0, np.minimum), (0, np.maximum), (1, np.minimum), (1, np.maximum))):
            bounds[filled, column] = reduce.reduceat(points[:, axis], starts)
    return bounds


def prims_in(prims: list[Primitive], rect: tuple[float, float, float, float],
             bounds: np.ndarray | None = None) -> list[Primitive]:
    """The primitives whose vertex bounds meet ``rect`` (x min, x max, y min, y max), in order;
    ``bounds``: :func:`prim_bounds` of ``prims``, computed once for many rectangles."""
    xmin, xmax, ymin, ymax = rect
    b = prim_bounds(prims) if bounds is None else bounds
    keep = (b[:, 1] >= xmin) & (b[:, 0] <= xmax) & (b[:, 3] >= ymin) & (b[:, 2] <= ymax)
    return [p for p, inside in zip(prims, keep, strict=True) if inside]


def _linear_to_display(color: tuple[float, float, float]) -> np.ndarray:
    return np.clip(np.asarray(color, np.float32), 0, 1)


def render_cell(spec: CellSpec, prims: list[Primitive], ids: dict[str, int], colors: dict[int, tuple],
                seed: int) -> RenderCell:
    """Render one grid cell of ``prims`` (already filtered to the cell)."""
    triangles = np.concatenate([p.triangles for p in prims]) if prims else np.zeros((0, 3, 3))
    owners = np.concatenate([np.full(len(p.triangles), k, np.int32) for k, p in enumerate(prims)]) \
        if prims else np.zeros(0, np.int32)
    raster = rasterize(triangles, owners, len(prims), spec.rect, spec.width, spec.height)
    tri_map = raster.triangle
    covered = tri_map >= 0
    owner_map = np.where(covered, owners[np.maximum(tri_map, 0)], -1) if len(owners) else \
        np.full(tri_map.shape, -1, np.int32)

    tri_color = np.concatenate([np.tile(_linear_to_display(p.color), (len(p.triangles), 1)) for p in prims]) \
        if prims else np.zeros((0, 3), np.float32)
    tri_material = [p.material for p in prims for _ in range(len(p.triangles))]
    rgb = shade(tri_map, triangle_normals(triangles) if len(triangles) else np.zeros((0, 3)), tri_color,
                tri_material, item_rng(seed, spec.cell), background=(40, 40, 44))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    return assemble_cell(spec.cell, rgba, owner_map, prims, raster.footprint, ids, colors)


def footprints(spec: CellSpec, prims: list[Primitive]) -> np.ndarray:
    """Pixels each of ``prims`` covers in the cell ignoring occlusion (for ``occlusionRatio``)."""
    if not prims:
        return np.zeros(0, np.int64)
    triangles = np.concatenate([p.triangles for p in prims])
    owners = np.concatenate([np.full(len(p.triangles), k, np.int32) for k, p in enumerate(prims)])
    return rasterize(triangles, owners, len(prims), spec.rect, spec.width, spec.height).footprint


def assemble_cell(cell: str, rgba: np.ndarray, owner_map: np.ndarray, prims: list[Primitive],
                  footprint: np.ndarray, ids: dict[str, int], colors: dict[int, tuple]) -> RenderCell:
    """A Replicator cell from its picture and the prim seen at each pixel (``owner_map``: index
    into ``prims``, -1 for nothing): colourised semantics, labels, tight boxes, prim paths.
    Every render backend builds its cells here, so they share one palette and one box rule."""
    prim_sem = np.array([ids.get(",".join(p.labels), 1) for p in prims] + [0], np.int32)
    sem_id = prim_sem[owner_map]  # owner -1 indexes the trailing 0 = BACKGROUND
    lut = np.zeros((max(ids.values(), default=1) + 1, 4), np.uint8)
    lut[1] = UNLABELLED
    for sid, color in colors.items():
        lut[sid] = color
    semantic = lut[sem_id]
    text_of = {sid: text for text, sid in ids.items()}
    labels = {color_key(BACKGROUND): {"class": "BACKGROUND"}, color_key(UNLABELLED): {"class": "UNLABELLED"}}
    for sid in np.unique(sem_id):
        if sid >= 2:
            labels[color_key(tuple(lut[sid]))] = {"class": text_of[int(sid)]}

    boxes, box_labels, paths = _tight_boxes(owner_map, prims, prim_sem, footprint, text_of)
    return RenderCell(cell, rgba, semantic, labels, boxes, box_labels, paths)


def _tight_boxes(owner_map, prims, prim_sem, footprint, text_of):
    rows, box_labels, paths = [], {}, []
    slices = ndimage.find_objects(owner_map + 1)
    for k, slc in enumerate(slices):
        if slc is None or prim_sem[k] < 2:
            continue
        visible = int(np.count_nonzero(owner_map[slc] == k))
        occlusion = 1.0 - visible / footprint[k] if footprint[k] else 0.0
        rows.append((prim_sem[k], slc[1].start, slc[0].start, slc[1].stop - 1, slc[0].stop - 1,
                     float(np.clip(occlusion, 0.0, 1.0))))
        box_labels[str(int(prim_sem[k]))] = {"class": text_of[int(prim_sem[k])]}
        paths.append(prims[k].path)
    return np.array(rows, BBOX_DTYPE), box_labels, paths


def semantic_palette(ids: dict[str, int], seed: int) -> dict[int, tuple[int, int, int, int]]:
    """A per-id colour for every semantic id (consumers resolve colours via the labels JSON)."""
    colors = palette(len(ids), seed)
    return {sid: colors[k] for k, sid in enumerate(sorted(ids.values()))}
