"""usd2roi-render stage 1: resolve the board's cookbooks, then render its scan grid."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from typing import Any

from sdg_factory.backends.render import build_render_backend, chosen_render_settings
from sdg_factory.cookbooks import CookbookError, require
from sdg_factory.fingerprints import algorithm_version, reads_parameters
from sdg_factory.pcb.board_cookbooks import ASSETS, board_cookbook, resolve, sentinel_values
from sdg_factory.pcb.render import scan_grid, semantic_ids, semantic_palette
from sdg_factory.pcb.usd_scene import load_primitives, scene_bounds
from sdg_factory.provenance import redact

logger = logging.getLogger(__name__)

USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


def resolve_render_cookbooks(pcb_cookbooks: dict[str, Callable], board: str, scene_filename: str,
                             dig_url_root: str, run_name: str, crop_max_emit: Any) -> tuple[dict, dict]:
    """``pcba_target.yaml`` with ``scene:`` patched, ``day0_image.yaml`` with sentinels resolved."""
    target = board_cookbook(pcb_cookbooks, board, "pcba_target")
    image = board_cookbook(pcb_cookbooks, board, "day0_image")
    values = sentinel_values(dig_url_root, run_name, board, scene_filename, crop_max_emit, image)
    target = resolve({**target, "scene": values["__SCENE__"]}, values, f"{ASSETS}/{board}/pcba_target.yaml")
    image = resolve(image, values, f"{ASSETS}/{board}/day0_image.yaml")
    require(image, ["scan_grid.x_num", "scan_grid.y_num", "scan_grid.resolution"],
            f"{ASSETS}/{board}/day0_image.yaml")
    return target, image


@algorithm_version(2)  # 2: the render backend (rasterizer | blender) chooses how a cell is computed
@reads_parameters(pcba_render=chosen_render_settings)  # a blender key does not re-render rasterizer cells
def render_scan_grid(pcb_usd_assets: dict[str, Callable], pcba_target: dict, day0_image: dict,
                     board: str, render_patches: Any, seed: int,
                     render_dir: str | None = None, render_backend: str = "rasterizer",
                     pcba_render: dict | None = None) -> tuple[dict[str, Any], dict]:
    """One lazy Replicator cell per scan-grid tile, and the render's ``metadata.json``.

    ``render_backend`` computes the cells: the built-in ``rasterizer`` or ``blender`` (Cycles
    in its own environment, settings ``pcba_render.blender``); either way the cells are saved
    through the same Replicator render folder. Given ``render_dir`` (a Kit render), nothing is
    rendered: the crop reads that folder."""
    if render_dir not in (None, "", "none", "null"):
        logger.info("render_dir is given: not rendering; the crop reads %s as it is", render_dir)
        return {}, {"board": board, "renderer": "external render folder (render_dir)",
                    "render_dir": redact(str(render_dir))}
    backend = build_render_backend(render_backend, pcba_render)
    scene_file = posixpath.basename(str(pcba_target["scene"]))
    key = f"{board}/{scene_file}"
    if key not in pcb_usd_assets:
        found = sorted(k for k in pcb_usd_assets if k.startswith(f"{board}/") and k.endswith(USD_SUFFIXES))
        raise FileNotFoundError(
            f"ERROR: no USD found under {ASSETS}/{board}/ named {scene_file!r} (USD files there: "
            f"{found or 'none'}). Pass --params scene_filename=<one of those>, or publish the assets "
            "with `kedro run --pipeline=pcba_setup`."
        )
    stage = pcb_usd_assets[key]()
    globs = day0_image.get("semantics") or []
    prims = load_primitives(stage, globs)
    if not prims:
        raise ValueError(f"{ASSETS}/{key} has no Cube or Mesh geometry to render; author the board as Cube/Mesh "
                         "prims, or render it with Omniverse Kit and pass --params render_dir=<its trigger_0000/>")
    if not any(p.labels for p in prims):
        raise CookbookError(
            f"no prim of {ASSETS}/{key} is labelled: the USD carries no semantics attributes and the "
            f"'semantics:' globs of {ASSETS}/{board}/day0_image.yaml match no prim path "
            f"({[g.get('prim_path') for g in globs]}). Example prim paths: "
            f"{[p.path for p in prims[:3]]}. Fix the globs so they match your prims."
        )
    grid = day0_image["scan_grid"]
    patches = None if render_patches in (None, "", "null") else int(render_patches)
    cells = scan_grid(scene_bounds(prims), int(grid["x_num"]), int(grid["y_num"]), tuple(grid["resolution"]),
                      patches)
    ids = semantic_ids(prims)
    colors = semantic_palette(ids, int(day0_image.get("semantic_palette_seed", seed)))
    logger.info("rendering %d of %d scan-grid cells of %s with the %s render backend", len(cells),
                grid["x_num"] * grid["y_num"], key, backend.name)
    renders = backend.cells(cells, prims, ids, colors, int(seed), stage)
    metadata = {
        "board": board,
        "scene": pcba_target["scene"],
        "renderer": backend.describe(),
        "render_backend": backend.name,
        "units": "mm",
        "camera": {"projection": "orthographic", "view_direction": [0, 0, -1],
                   "image_columns": "+x world", "image_rows": "-y world"},
        "scan_grid": {"x_num": int(grid["x_num"]), "y_num": int(grid["y_num"]),
                      "resolution": list(grid["resolution"]), "render_patches": patches,
                      "order": "y outer, x inner; x0 = largest world x, y0 = largest world y"},
        "cells": {c.cell: {"world_rect_xxyy": [round(v, 6) for v in c.rect]} for c in cells},
        "semantic_ids": ids,
    }
    return renders, metadata
