"""Regenerate the rasterizer-versus-Blender picture of docs/pcba.md.

    python docs/figures_blender.py          (needs `make blender`; about a minute on two cores)

One row per demo board: the same scan-grid cell ``x0_y0`` rendered by the built-in
rasterizer and by the Blender backend (base settings: 32 samples, denoised, ring light), and
the semantic segmentation both produce (they agree pixel for pixel on these boards).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sdg_factory.backends.render import build_render_backend  # noqa: E402
from sdg_factory.pcb.boards import build_board_stage  # noqa: E402
from sdg_factory.pcb.render import scan_grid, semantic_ids, semantic_palette  # noqa: E402
from sdg_factory.pcb.usd_scene import load_primitives, scene_bounds  # noqa: E402

OUT = ROOT / "docs" / "images" / "pcba_rasterizer_vs_blender.png"


def render_pair(board: str, params: dict, seed: int, size: int):
    spec = params["pcba_setup"]["boards"][board]
    image = spec["cookbooks"]["day0_image"]
    stage = build_board_stage(board, spec["layout"], seed)
    prims = load_primitives(stage, image.get("semantics"))
    grid = image["scan_grid"]
    cell = scan_grid(scene_bounds(prims), grid["x_num"], grid["y_num"], tuple(grid["resolution"]), 1)
    ids = semantic_ids(prims)
    colors = semantic_palette(ids, int(image.get("semantic_palette_seed", seed)))
    out = []
    for name in ("rasterizer", "blender"):
        backend = build_render_backend(name, params.get("pcba_render"))
        out.append(backend.cells(cell, prims, ids, colors, seed, stage)[cell[0].cell]())
    tiles = [out[0].rgb, out[1].rgb, out[1].semantic]
    return [cv2.resize(t[..., :3], (size, size), interpolation=cv2.INTER_AREA) for t in tiles]


def main() -> None:
    params = yaml.safe_load((ROOT / "conf" / "base" / "parameters_pcba.yml").read_text())
    seed = int(yaml.safe_load((ROOT / "conf" / "base" / "parameters.yml").read_text())["seed"])
    rows = [np.hstack(render_pair(board, params, seed, 384)) for board in ("0603_H100", "1152819000")]
    figure = np.vstack(rows)
    header = np.full((28, figure.shape[1], 3), 255, np.uint8)
    for k, text in enumerate(("rasterizer", "blender (Cycles, 32 samples, ring light)", "segmentation (both)")):
        cv2.putText(header, text, (8 + 384 * k, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(OUT), cv2.cvtColor(np.vstack([header, figure]), cv2.COLOR_RGB2BGR))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
