"""usd2roi stage 2: crop per-component ROIs from a scan-grid render folder.

Works on our render or a real Kit output (``--params render_dir=<folder>``): classes are
always resolved through each cell's labels file, never by fixed colours.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from sdg_factory.cookbooks import CookbookError, require
from sdg_factory.fingerprints import per_item
from sdg_factory.imaging.roi_crop import CropConfig
from sdg_factory.imaging.semantic_colors import split_classes
from sdg_factory.paths import check_distinct, check_segment
from sdg_factory.pcb.board_cookbooks import ASSETS, board_cookbook, resolve, sentinel_values
from sdg_factory.pcb.crop import crop_cell

CROP_KEYS = ["classes", "class_dirs", "morph_kernel", "min_area", "edge_skip", "offset", "min_coverage", "max_emit"]


def resolve_crop_cookbook(pcb_cookbooks: dict[str, Callable], board: str, scene_filename: str,
                          dig_url_root: str, run_name: str, crop_max_emit: Any) -> dict:
    """``day0_crop.yaml`` with sentinels resolved (``crop_max_emit`` fills ``__MAX_IMAGE_COUNT__``)."""
    doc = board_cookbook(pcb_cookbooks, board, "day0_crop")
    source = f"{ASSETS}/{board}/day0_crop.yaml"
    resolved = resolve(doc, sentinel_values(dig_url_root, run_name, board, scene_filename, crop_max_emit, doc),
                       source)
    require(resolved, CROP_KEYS, source)
    check_material_folders(resolved, source)
    return resolved


def check_material_folders(day0_crop: dict, source: str) -> None:
    """Every anchor class lands in the folder ``class_dirs`` names (or its own name): each must be
    one safe folder name, and two different names may not fold into one folder."""
    class_dirs = day0_crop.get("class_dirs") or {}
    if not isinstance(class_dirs, dict):
        raise CookbookError(f"{source}: class_dirs must map class names to material folder names")
    folders = []
    for name in dict.fromkeys([*(day0_crop.get("classes") or []), *class_dirs]):
        key = f"class_dirs.{name}" if name in class_dirs else f"classes[{name!r}] (no class_dirs entry)"
        folders.append((key, check_segment(class_dirs.get(name, name), f"{source}: {key}")))
    check_distinct(folders, f"{source}: material folders")


def merge_semantic_labels(render_cells: dict[str, Callable]) -> dict[str, dict]:
    """One labels file for the whole crop tree: every colour seen in any cell and its classes."""
    merged: dict[str, dict] = {}
    for cell, load in sorted(render_cells.items()):
        for key, entry in load().semantic_labels.items():
            if key in merged and merged[key] != entry:
                raise ValueError(
                    f"colour {key} means {merged[key]} in one cell but {entry} in {cell}: a render folder "
                    "must use one palette for all cells"
                )
            merged[key] = entry
    return dict(sorted(merged.items()))


def _classes_found(labels: dict[str, dict]) -> list[str]:
    return sorted({c for entry in labels.values() for c in split_classes(entry.get("class", ""))})


def _crop_one(load: Callable, cfg: CropConfig):
    return crop_cell(load(), cfg)


@per_item("render_cells")
def crop_rois(render_cells: dict[str, Callable], day0_crop: dict, semantic_labels: dict[str, dict]) -> dict:
    """One lazy crop job per render cell (ROIs numbered per material within the cell)."""
    if not render_cells:
        raise FileNotFoundError(
            "the render folder holds no rgb_x*_y*.png: run pcba_render first, or point "
            "--params render_dir=<folder> at a Replicator scan_grid output (its trigger_0000/ folder)"
        )
    cfg = CropConfig.from_cookbook(day0_crop)
    found = _classes_found(semantic_labels)
    if not set(cfg.classes) & set(found):
        raise CookbookError(_zero_rois_message(cfg.classes, found))
    return {cell: partial(_crop_one, load, cfg) for cell, load in render_cells.items()}


def _zero_rois_message(asked, found) -> str:
    return (
        f"usd2roi crop emitted 0 ROIs: day0_crop.yaml asks for classes {sorted(asked)} but the render's "
        f"semantic labels hold {found}. Align the cookbook's 'classes' (and 'class_dirs') with the labels, "
        "or fix the 'semantics:' globs of day0_image.yaml so the components are labelled."
    )


def summarize_crops(roi_crops: dict[str, Callable], semantic_labels: dict[str, dict], day0_crop: dict) -> dict:
    """ROI counts per material and cell; zero ROIs is an error naming found vs asked classes."""
    if not roi_crops:
        found = _classes_found(semantic_labels)
        raise CookbookError(_zero_rois_message(day0_crop["classes"], found) +
                            " (the classes exist, so check min_area/max_area/edge_skip/min_coverage too)")
    per_material = Counter(pid.split("/")[0] for pid in roi_crops)
    per_cell = Counter("/".join(pid.split("/")[:2]) for pid in roi_crops)
    return {"rois": len(roi_crops), "per_material": dict(sorted(per_material.items())),
            "per_cell": dict(sorted(per_cell.items()))}
