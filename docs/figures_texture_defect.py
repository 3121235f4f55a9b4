"""Regenerate the picture grid of docs/texture_defect_day0.md from finished runs.

    python docs/figures_texture_defect.py data/dig/runs/passive data/dig/runs/ic

One row per defect type (bridge from the IC run when there is one): clean | mask | defect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

DEFECTS = ("bridge", "excess_solder", "missing", "scratch", "discoloration")


def _fit(image: np.ndarray, size: int) -> np.ndarray:
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image = image[..., :3]
    scale = size / max(image.shape[:2])
    image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))),
                       interpolation=cv2.INTER_NEAREST)
    out = np.full((size, size, 3), 255, np.uint8)
    y, x = (size - image.shape[0]) // 2, (size - image.shape[1]) // 2
    out[y:y + image.shape[0], x:x + image.shape[1]] = image
    return out


def grid(runs: list[Path], out: Path, size: int = 160) -> None:
    rows = []
    for defect in DEFECTS:
        for run in (runs[::-1] if defect == "bridge" else runs):
            labels = [json.loads(line) for line in (run / "anomaly" / "labels.jsonl").read_text().splitlines()]
            record = next((r for r in labels if r["defect_type"] == defect), None)
            if record is None:
                continue
            clean = cv2.imread(str(run / record["source_image"]), cv2.IMREAD_UNCHANGED)
            mask = cv2.imread(str(run / "anomaly" / record["mask"]), cv2.IMREAD_UNCHANGED)
            image = cv2.imread(str(run / "anomaly" / record["image"]), cv2.IMREAD_UNCHANGED)
            tiles = [_fit(t, size) for t in (clean, mask, image)]
            label = np.full((size + 8, 150, 3), 255, np.uint8)
            cv2.putText(label, defect.replace("_", " "), (6, size // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
            rows.append(np.hstack([label] + [np.pad(t, ((4, 4), (4, 4), (0, 0)), constant_values=255) for t in tiles]))
            break
    head = np.full((28, rows[0].shape[1], 3), 255, np.uint8)
    for k, name in enumerate(("clean", "mask", "defect")):
        cv2.putText(head, name, (150 + k * (size + 8) + size // 3, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cv2.imwrite(str(out), np.vstack([head] + rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    runs = [Path(p) for p in sys.argv[1:]] or [Path("data/dig/runs/demo")]
    target = Path(__file__).parent / "images" / "texture_defect_day0.png"
    grid(runs, target)
    print("wrote", target)
