"""Regenerate the bare-board picture of the docs (docs/images/bare_board_pairs.png).

    python docs/figures_bare_board.py data/dig/runs/demo [docs/images/bare_board_pairs.png]
    (after `kedro run --pipeline=pcba_setup` and `kedro run --pipeline=bare_board_defects`)

One row per pair: golden | test image with its YOLO boxes and class names | mask over the test
image | the first defect zoomed, golden then test. The first six ids carry the six defect types in turn (item k starts with type k mod 6).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

COLORS = [(230, 60, 60), (60, 160, 230), (240, 180, 40), (160, 90, 220), (60, 200, 120), (240, 120, 200)]


def _boxes(text: str, shape) -> list[tuple[int, int, int, int, int]]:
    h, w = shape
    out = []
    for line in text.splitlines():
        cls, cx, cy, bw, bh = line.split()
        cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
        out.append((int(cls), round(cx - bw / 2), round(cy - bh / 2), round(cx + bw / 2), round(cy + bh / 2)))
    return out


def _row(folder: Path, pid: str, classes: list[str], size: int) -> np.ndarray:
    golden = cv2.imread(str(folder / "golden" / f"{pid}.png"), cv2.IMREAD_GRAYSCALE)
    image = cv2.imread(str(folder / "images" / f"{pid}.png"), cv2.IMREAD_GRAYSCALE)
    mask = cv2.imread(str(folder / "masks" / f"{pid}.png"), cv2.IMREAD_GRAYSCALE)
    scale = size / image.shape[0]
    tiles = [cv2.cvtColor(cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2RGB)
             for a in (golden, image, image)]
    small_mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST) > 0
    tiles[2][small_mask] = (0.4 * tiles[2][small_mask] + 0.6 * np.array([255, 40, 40])).astype(np.uint8)
    for cls, x0, y0, x1, y1 in _boxes((folder / "boxes" / f"{pid}.txt").read_text(), image.shape):
        p0 = (int(x0 * scale) - 4, int(y0 * scale) - 4)
        p1 = (int(x1 * scale) + 4, int(y1 * scale) + 4)
        cv2.rectangle(tiles[1], p0, p1, COLORS[cls % len(COLORS)], 2)
        cv2.putText(tiles[1], classes[cls], (p0[0], max(12, p0[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    COLORS[cls % len(COLORS)], 1, cv2.LINE_AA)
    first = _boxes((folder / "boxes" / f"{pid}.txt").read_text(), image.shape)[0]
    cx, cy = (first[1] + first[3]) // 2, (first[2] + first[4]) // 2
    half = max(24, (max(first[3] - first[1], first[4] - first[2]) * 3) // 4 + 8)
    x0, y0 = int(np.clip(cx - half, 0, image.shape[1] - 2 * half)), int(np.clip(cy - half, 0, image.shape[0] - 2 * half))
    for a in (golden, image):
        zoom = cv2.resize(a[y0:y0 + 2 * half, x0:x0 + 2 * half], (size, size), interpolation=cv2.INTER_NEAREST)
        tiles.append(cv2.cvtColor(zoom, cv2.COLOR_GRAY2RGB))
    gap = np.full((size, 6, 3), 255, np.uint8)
    return np.hstack([t for tile in tiles for t in (tile, gap)][:-1])


def pairs_figure(run: Path, out: Path, count: int = 6, size: int = 220) -> None:
    folder = run / "bare_board"
    classes = (folder / "classes.txt").read_text().split()
    ids = sorted(p.stem for p in (folder / "images").glob("*.png"))[:count]
    rows = []
    for pid in ids:
        rows += [_row(folder, pid, classes, size), np.full((6, size * 5 + 24, 3), 255, np.uint8)]
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows[:-1]), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "data/dig/runs/demo")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).parent / "images" / "bare_board_pairs.png")
    pairs_figure(run, out)
    print(out)
