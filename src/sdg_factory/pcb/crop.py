"""usd2roi stage 2 for one render cell: find the ROIs and cut ``normal_img`` + ``cad_mask``."""

from __future__ import annotations

from collections import defaultdict

from sdg_factory.imaging.roi_crop import CropConfig, crop, find_rois
from sdg_factory.pcb.roi import Roi


class RenderCellMismatch(ValueError):
    """A cell's RGB and semantic images differ in size."""


def crop_cell(cell, cfg: CropConfig) -> list[Roi]:
    """The ROIs of one cell (``cell`` has ``.cell``, ``.rgb``, ``.semantic``, ``.semantic_labels``).

    ROIs are numbered ``0000, 0001, …`` per material within the cell, in reading order.
    """
    boxes = find_rois(cell.semantic, cell.semantic_labels, cfg)
    if not boxes:
        return []
    rgb, semantic = cell.rgb, cell.semantic
    if rgb.shape[:2] != semantic.shape[:2]:
        raise RenderCellMismatch(
            f"cell {cell.cell}: rgb is {rgb.shape[1]}x{rgb.shape[0]} but the semantic segmentation is "
            f"{semantic.shape[1]}x{semantic.shape[0]}; both must come from the same render"
        )
    counters: dict[str, int] = defaultdict(int)
    rois = []
    for box in boxes:
        stem = f"{counters[box.material]:04d}"
        counters[box.material] += 1
        rois.append(Roi(box.material, cell.cell, stem, crop(rgb, box.bbox_xyxy), crop(semantic, box.bbox_xyxy),
                        box.class_name, box.bbox_xyxy,
                        {"component_bbox_xyxy": list(box.component_bbox_xyxy), "area": box.area,
                         "coverage": round(box.coverage, 6)}))
    return rois
