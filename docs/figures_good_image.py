"""Regenerate the good_image picture of docs/good_image.md from a finished run.

    python docs/figures_good_image.py data/dig/runs/demo [more runs …]   (after `kedro run --pipeline good_image`)

Rows: the input crop (normal_img), the restyled output (augment/crop), and the output with
the cad_mask outline drawn on it (the mask stays aligned).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _tile(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(image[..., :3], (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_NEAREST)
    canvas = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    return canvas


def label_edges(cad_mask: np.ndarray) -> np.ndarray:
    """Pixels where the colourised segmentation changes class (the outlines of the parts)."""
    _, labels = np.unique(cad_mask.reshape(-1, cad_mask.shape[-1]), axis=0, return_inverse=True)
    labels = labels.reshape(cad_mask.shape[:2]).astype(np.float32)
    kernel = np.ones((2, 2), np.uint8)
    return (cv2.dilate(labels, kernel) != cv2.erode(labels, kernel))


def restyle_figure(runs: list[Path], out: Path, count: int = 6, size: int = 128) -> None:
    per_run = max(1, count // len(runs))
    outputs = [(run, p) for run in runs for p in sorted((run / "augment" / "crop").glob("*/*/*.png"))[:per_run]]
    columns = []
    for run, path in outputs:
        material, cell, stem = path.relative_to(run / "augment" / "crop").with_suffix("").parts
        crop = run / "usd2roi-components" / "crop" / material / cell
        normal = _read(crop / "normal_img" / f"{stem}.png")
        mask = _read(crop / "cad_mask" / f"{stem}_cad_mask.png")
        restyled = _read(path)
        outline = restyled[..., :3].copy()
        edge = label_edges(mask)
        outline[edge] = (255, 0, 255)
        gap = np.full((4, size, 3), 255, np.uint8)
        columns.append(np.vstack([_tile(normal, size), gap, _tile(restyled, size), gap, _tile(outline, size)]))
        columns.append(np.full((columns[-1].shape[0], 4, 3), 255, np.uint8))
    figure = np.hstack(columns[:-1])
    cv2.imwrite(str(out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    runs = [Path(a) for a in sys.argv[1:]] or [Path("data/dig/runs/demo")]
    target = Path(__file__).parent / "images" / "good_image_restyle.png"
    restyle_figure(runs, target)
    print("wrote", target)
