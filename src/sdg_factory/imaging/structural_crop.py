"""The usd2roi crop window of one *known* component in a render of a perturbed board.

The labelled mask, the morphological close and the connected components are the ones of
:func:`sdg_factory.imaging.roi_crop.find_rois` (same :class:`CropConfig`). Instead of keeping
every component that passes the filters, this keeps the connected components that hold the
perturbed component's anchor pixels (inside its anchor prim's tight box from the render), and
sizes the window so the defect crop lines up with the good crop of the same component: the
good ROI's window, grown only where the perturbed component leaves it. ``min_coverage`` is
not applied: a pose defect lowers the anchor share on purpose (a tombstone hides most of its
body), and the component is known from the USD rather than guessed from pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sdg_factory.imaging.roi_crop import CropConfig
from sdg_factory.imaging.semantic_colors import class_masks

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive


@dataclass(frozen=True)
class ComponentWindow:
    bbox_xyxy: Box  # crop window in the tile (inclusive)
    component_bbox_xyxy: Box  # the perturbed component's connected pixels
    area: int
    coverage: float  # anchor pixels / component pixels
    anchor_area: int


class WindowRejected(ValueError):
    """The component cannot be cropped the way pcba_crop would (the reason says which filter)."""


def labelled_components(semantic: np.ndarray, labels: dict[str, dict], cfg: CropConfig):
    """``(anchor mask, component label image)`` exactly as ``find_rois`` builds them."""
    anchor_masks = class_masks(semantic, labels, set(cfg.classes))
    shape = semantic.shape[:2]
    anchor = np.logical_or.reduce(list(anchor_masks.values())) if anchor_masks else np.zeros(shape, bool)
    parts = class_masks(semantic, labels, set(cfg.component_classes))
    labelled = np.logical_or.reduce([anchor, *parts.values()])
    if cfg.morph_kernel > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cfg.morph_kernel, cfg.morph_kernel))
        labelled = cv2.morphologyEx(labelled.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    _, components = cv2.connectedComponents(labelled.astype(np.uint8), connectivity=8)
    return anchor, components


def union_box(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def pad_box(box: Box, pad: int, width: int, height: int) -> Box:
    return (max(box[0] - pad, 0), max(box[1] - pad, 0), min(box[2] + pad, width - 1), min(box[3] + pad, height - 1))


def component_window(semantic: np.ndarray, labels: dict[str, dict], cfg: CropConfig, anchor_box: Box,
                     good_window: Box) -> ComponentWindow:
    """The crop window of the component whose anchor prim's tight box is ``anchor_box``."""
    height, width = semantic.shape[:2]
    anchor, components = labelled_components(semantic, labels, cfg)
    x0, y0, x1, y1 = anchor_box
    seeds = np.zeros_like(anchor)
    seeds[y0 : y1 + 1, x0 : x1 + 1] = anchor[y0 : y1 + 1, x0 : x1 + 1]
    ids = np.unique(components[seeds])
    ids = ids[ids > 0]
    if not len(ids):
        raise WindowRejected("no anchor-class pixel of the component is visible")
    mask = np.isin(components, ids)
    rows, cols = np.nonzero(mask)
    box = (int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max()))
    area = int(mask.sum())
    if area < cfg.min_area or (cfg.max_area is not None and area > cfg.max_area):
        raise WindowRejected(f"component area {area} px is outside [min_area {cfg.min_area}, "
                             f"max_area {cfg.max_area}]")
    if cfg.edge_skip and (box[0] == 0 or box[1] == 0 or box[2] == width - 1 or box[3] == height - 1):
        raise WindowRejected("the perturbed component touches the cell border (edge_skip)")
    window = union_box(tuple(int(v) for v in good_window), pad_box(box, cfg.offset, width, height))
    anchor_area = int(np.count_nonzero(anchor & mask))
    return ComponentWindow(window, box, area, anchor_area / area, anchor_area)
