"""Regenerate the PCBA pictures of the docs from a finished run.

    python docs/figures.py data/dig/runs/demo      (after `make run`)
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from sdg_factory.imaging.contact_sheet import contact_sheet


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def render_and_crops(run: Path, out: Path, cell: str = "x1_y0") -> None:
    components = run / "usd2roi-components"
    tile = _read(components / "trigger_0000" / f"rgb_{cell}.png")
    semantic = _read(components / "trigger_0000" / f"semantic_segmentation_{cell}.png")
    crops = [_read(p) for p in sorted(components.glob("crop/*/*/normal_img/*.png"))[:8]]
    masks = [_read(p) for p in sorted(components.glob("crop/*/*/cad_mask/*.png"))[:8]]
    size = 384
    left = cv2.resize(np.hstack([tile[..., :3], semantic[..., :3]]), (2 * size, size))
    sheet = contact_sheet(crops + masks, tile=size // 4 - 4, columns=8)
    sheet = cv2.resize(sheet, (2 * size, int(sheet.shape[0] * 2 * size / sheet.shape[1])))
    figure = np.vstack([left, np.full((8, 2 * size, 3), 255, np.uint8), sheet])
    cv2.imwrite(str(out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "data/dig/runs/demo")
    images = Path(__file__).parent / "images"
    render_and_crops(run, images / "pcba_render_crop.png")
    print("wrote", images / "pcba_render_crop.png")
