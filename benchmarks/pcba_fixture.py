"""A rendered board shared by the PCBA benchmarks (built once per process in a temp folder)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import yaml

from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pcb.render import prims_in, render_cell, scan_grid, semantic_ids, semantic_palette
from sdg_factory.pcb.usd_scene import load_primitives, scene_bounds

ROOT = Path(__file__).resolve().parents[1]


def board_params(board: str = "0603_H100") -> dict:
    doc = yaml.safe_load((ROOT / "conf" / "base" / "parameters_pcba.yml").read_text())
    return doc["pcba_setup"]["boards"][board]


def render_jobs(board: str = "0603_H100", seed: int = 1, resolution: tuple[int, int] | None = None) -> dict:
    """``{cell: partial(render_cell, …)}`` for every cell of the board's scan grid (at the
    cookbook's resolution, or ``resolution``)."""
    spec = board_params(board)
    prims = load_primitives(build_board_stage(board, spec["layout"], seed),
                            spec["cookbooks"]["day0_image"].get("semantics"))
    grid = spec["cookbooks"]["day0_image"]["scan_grid"]
    cells = scan_grid(scene_bounds(prims), grid["x_num"], grid["y_num"], resolution or grid["resolution"])
    ids = semantic_ids(prims)
    colors = semantic_palette(ids, 11)
    return {c.cell: functools.partial(render_cell, c, prims_in(prims, c.rect), ids, colors, seed) for c in cells}


def rendered_folder(board: str = "0603_H100") -> Path:
    """A temp folder holding the board's full Replicator render (trigger_0000/)."""
    from sdg_factory.datasets import ReplicatorRenderFolderDataset

    folder = Path(tempfile.mkdtemp(prefix="sdg-bench-")) / "trigger_0000"
    ReplicatorRenderFolderDataset(path=str(folder), progress=False).save(render_jobs(board))
    return folder
