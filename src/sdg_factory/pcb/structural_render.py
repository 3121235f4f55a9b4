"""Render one scan cell of a perturbed board and crop its perturbed components.

The cell is rendered with the good run's cell rectangle, resolution, semantic ids, palette
and seed, so every pixel the defect did not touch is identical to the good render; each
perturbed component is then cropped with the good run's :class:`CropConfig`
(:func:`sdg_factory.imaging.structural_crop.component_window`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sdg_factory.imaging.roi_crop import CropConfig, crop
from sdg_factory.imaging.structural_crop import WindowRejected, component_window
from sdg_factory.pcb.render import CellSpec, RenderCell, prims_in, render_cell
from sdg_factory.pcb.usd_scene import Primitive


@dataclass
class StructuralCrop:
    """``cropped/<mode>/{rgb,mask}/<stem>.png`` and its ``labels.jsonl`` record."""

    stem: str
    rgb: np.ndarray  # RGBA
    mask: np.ndarray  # RGBA colourised semantic crop (colours resolve through the labels file)
    record: dict


@dataclass
class StructuralCell:
    """Everything one (mode, cell) render writes."""

    mode: str
    cell: str
    semantic_labels: dict[str, dict]
    crops: list[StructuralCrop] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def anchor_box(cell: RenderCell, prim_path: str) -> tuple[int, int, int, int] | None:
    """The tight 2-D box of ``prim_path`` in a rendered cell (``None`` when it is not visible)."""
    for row, path in zip(cell.boxes, cell.prim_paths, strict=False):
        if path == prim_path:
            return int(row["x_min"]), int(row["y_min"]), int(row["x_max"]), int(row["y_max"])
    return None


def render_and_crop(mode: str, spec: CellSpec, prims: list[Primitive], items: list[dict], ids: dict[str, int],
                    colors: dict[int, tuple], seed: int, cfg: CropConfig,
                    rendered: RenderCell | None = None) -> StructuralCell:
    """Render ``spec`` of the perturbed board ``prims`` and crop each planned item in it.

    ``rendered`` is the cell as a render backend made it (``render_backend``); without it the
    built-in rasterizer renders the cell here."""
    if rendered is None:
        rendered = render_cell(spec, prims_in(prims, spec.rect), ids, colors, seed)
    out = StructuralCell(mode, spec.cell, rendered.semantic_labels)
    for item in items:
        box = anchor_box(rendered, item["anchor_prim"])
        try:
            if box is None:
                raise WindowRejected("the anchor prim is hidden in the perturbed render")
            window = component_window(rendered.semantic, rendered.semantic_labels, cfg, box,
                                      tuple(item["good_bbox_xyxy"]))
        except WindowRejected as exc:
            out.skipped.append({"stem": item["stem"], "prim_path": item["prim_path"], "reason": str(exc)})
            continue
        record = {
            **item,
            "bbox_xyxy": list(window.bbox_xyxy),
            "component_bbox_xyxy": list(window.component_bbox_xyxy),
            "area": window.area,
            "coverage": round(window.coverage, 6),
            "anchor_area": window.anchor_area,
            "aligned": list(window.bbox_xyxy) == list(item["good_bbox_xyxy"]),
        }
        out.crops.append(StructuralCrop(item["stem"], crop(rendered.rgb, window.bbox_xyxy),
                                        crop(rendered.semantic, window.bbox_xyxy), record))
    return out
