"""The usd2roi crop algorithm over one render cell, as plain array maths.

Anchor classes come from the crop cookbook. Pixels of the anchor and component-part classes
(exact RGBA colour match through the labels file) form the labelled mask; a morphological
close (ellipse, ``morph_kernel``) joins a component's body, terminals and solder; connected
components (8-connectivity) that contain an anchor pixel are the candidates, filtered by
``min_area`` / ``max_area``, ``edge_skip`` (touching the cell border) and ``min_coverage``
(anchor pixels / component pixels); the box is padded by ``offset`` and clipped; the dominant
anchor class (most pixels) names the ROI, and ``class_dirs`` maps it to its material folder.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sdg_factory.imaging.semantic_colors import class_masks


@dataclass(frozen=True)
class CropConfig:
    classes: tuple[str, ...]
    class_dirs: dict[str, str]
    component_classes: tuple[str, ...] = ()
    morph_kernel: int = 5
    min_area: int = 50
    max_area: int | None = None
    edge_skip: bool = True
    offset: int = 10
    min_coverage: float = 0.2
    max_emit: int | None = None

    @classmethod
    def from_cookbook(cls, doc: dict) -> CropConfig:
        return cls(
            classes=tuple(doc["classes"]),
            class_dirs=dict(doc.get("class_dirs") or {}),
            component_classes=tuple(doc.get("component_classes") or ()),
            morph_kernel=int(doc.get("morph_kernel", 5)),
            min_area=int(doc.get("min_area", 50)),
            max_area=None if doc.get("max_area") in (None, "") else int(doc["max_area"]),
            edge_skip=bool(doc.get("edge_skip", True)),
            offset=int(doc.get("offset", 10)),
            min_coverage=float(doc.get("min_coverage", 0.2)),
            max_emit=None if doc.get("max_emit") in (None, "") else int(doc["max_emit"]),
        )


@dataclass(frozen=True)
class RoiBox:
    class_name: str
    material: str
    bbox_xyxy: tuple[int, int, int, int]  # padded crop window, inclusive
    component_bbox_xyxy: tuple[int, int, int, int]
    area: int
    coverage: float


def find_rois(semantic: np.ndarray, labels: dict[str, dict], cfg: CropConfig) -> list[RoiBox]:
    """ROI boxes of one cell, in reading order (top to bottom, left to right), capped."""
    height, width = semantic.shape[:2]
    anchor_masks = class_masks(semantic, labels, set(cfg.classes))
    if not anchor_masks:
        return []
    anchor = np.logical_or.reduce(list(anchor_masks.values()))
    parts = class_masks(semantic, labels, set(cfg.component_classes))
    labelled = np.logical_or.reduce([anchor, *parts.values()])
    if cfg.morph_kernel > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (cfg.morph_kernel, cfg.morph_kernel))
        labelled = cv2.morphologyEx(labelled.astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    count, components, stats, _ = cv2.connectedComponentsWithStats(labelled.astype(np.uint8), connectivity=8)
    anchor_count = np.bincount(components[anchor], minlength=count)
    class_names = [c for c in cfg.classes if c in anchor_masks]
    votes = np.stack([np.bincount(components[anchor_masks[c]], minlength=count) for c in class_names])

    boxes = []
    for comp in range(1, count):
        if anchor_count[comp] == 0:
            continue
        x, y, w, h, area = (int(v) for v in stats[comp])
        if area < cfg.min_area or (cfg.max_area is not None and area > cfg.max_area):
            continue
        if cfg.edge_skip and (x == 0 or y == 0 or x + w == width or y + h == height):
            continue
        coverage = anchor_count[comp] / area
        if coverage < cfg.min_coverage:
            continue
        name = class_names[int(np.argmax(votes[:, comp]))]
        pad = cfg.offset
        window = (max(x - pad, 0), max(y - pad, 0), min(x + w - 1 + pad, width - 1), min(y + h - 1 + pad, height - 1))
        boxes.append(RoiBox(name, cfg.class_dirs.get(name, name), window, (x, y, x + w - 1, y + h - 1),
                            area, float(coverage)))
    boxes.sort(key=lambda b: (b.component_bbox_xyxy[1], b.component_bbox_xyxy[0]))
    return boxes[: cfg.max_emit] if cfg.max_emit is not None else boxes


def crop(image: np.ndarray, bbox_xyxy: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = bbox_xyxy
    return np.ascontiguousarray(image[y0 : y1 + 1, x0 : x1 + 1])
