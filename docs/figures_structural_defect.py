"""Regenerate the structural-defect picture of the docs from a finished run.

    python docs/figures_structural_defect.py data/dig/runs/demo [data/dig/runs/ic-demo …]
    (after good_image + structural_defect with the same run_name; one block of rows per run)

One row per mode: good ``normal_img`` | defect ``rgb`` | good ``cad_mask`` | defect ``mask``,
each defect crop placed in its good pair's frame so the pairs line up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _frame(image: np.ndarray, box, union) -> np.ndarray:
    """``image`` (cropped at ``box``) pasted into a canvas covering ``union`` (dark background)."""
    canvas = np.full((union[3] - union[1] + 1, union[2] - union[0] + 1, 3), 40, np.uint8)
    y, x = box[1] - union[1], box[0] - union[0]
    canvas[y : y + image.shape[0], x : x + image.shape[1]] = image
    return canvas


def _tile(image: np.ndarray, size: int) -> np.ndarray:
    scale = size / max(image.shape[:2])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_NEAREST)
    out = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - resized.shape[0]) // 2, (size - resized.shape[1]) // 2
    out[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return out


def pairs_figure(runs: list[Path], out: Path, size: int = 120) -> None:
    rows = []
    for run in runs:
        rows += _rows(run, size)
    figure = np.vstack(rows)
    cv2.imwrite(str(out), cv2.cvtColor(figure, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def _rows(run: Path, size: int) -> list[np.ndarray]:
    pairs = [json.loads(line) for line in (run / "structural_defect" / "pairs.jsonl").read_text().splitlines()]
    rows = []
    for mode in ("shift", "tombstone", "sideflip"):
        chosen = [p for p in pairs if p["mode"] == mode][:1]
        for pair in chosen:
            good, bad = pair["good_bbox_xyxy"], pair["defect_bbox_xyxy"]
            union = (min(good[0], bad[0]), min(good[1], bad[1]), max(good[2], bad[2]), max(good[3], bad[3]))
            tiles = [_frame(_read(run / pair[key]), box, union) for key, box in
                     (("normal_img", good), ("defect_rgb", bad), ("cad_mask", good), ("defect_mask", bad))]
            row = np.hstack([np.pad(_tile(t, size), ((4, 4), (4, 4), (0, 0)), constant_values=255) for t in tiles])
            label = np.full((row.shape[0], 110, 3), 255, np.uint8)
            cv2.putText(label, mode, (6, row.shape[0] // 2 - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1,
                        cv2.LINE_AA)
            cv2.putText(label, pair["class_name"], (6, row.shape[0] // 2 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (90, 90, 90), 1, cv2.LINE_AA)
            rows.append(np.hstack([label, row]))
    return rows


if __name__ == "__main__":
    runs = [Path(a) for a in sys.argv[1:]] or [Path("data/dig/runs/demo")]
    target = Path(__file__).parent / "images" / "structural_defect_pairs.png"
    pairs_figure(runs, target)
    print("wrote", target)
