"""Synthetic bare-board pairs for golden-template tests: a binarised copper layout (golden) and
the inspected image — line widths changed by 1–2 px, shifted by up to ±3 px, turned slightly,
re-binarised — with the six bare-board defects drawn in and their exact masks and YOLO boxes.

Written here on purpose (independent of the bare-board generator), and small: 256² by default.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CLASSES = ("open", "short", "mousebite", "spur", "pin_hole", "spurious_copper")


def _layout(rng: np.random.Generator, size: int, widen: int = 0) -> tuple[np.ndarray, dict]:
    """Horizontal traces, two vertical ones and pads; ``widen`` px added to every line width."""
    img = np.zeros((size, size), np.uint8)
    ys = np.arange(28, size - 28, 34)
    widths = rng.integers(8, 12, len(ys))
    for y, w in zip(ys, widths, strict=False):
        cv2.line(img, (16, int(y)), (size - 70, int(y)), 255, int(w + widen))
    xs = [size - 50, size - 24]
    for x in xs:
        cv2.line(img, (x, 16), (x, size - 16), 255, 10 + widen)
    pads = [(size - 50, int(ys[0])), (size - 24, int(ys[-1]))]
    for cx, cy in pads:
        cv2.circle(img, (cx, cy), 12 + max(widen // 2, 0), 255, -1)
    return img, {"ys": ys, "widths": widths + widen, "xs": xs, "pads": pads, "x_end": size - 70}


def _defect(img: np.ndarray, rng: np.random.Generator, kind: str, geo: dict) -> None:
    """Draw one defect of ``kind`` into the design ``img`` (in place)."""
    ys, widths = geo["ys"], geo["widths"]
    k = int(rng.integers(0, len(ys) - 1))
    y, w = int(ys[k]), int(widths[k])
    x = int(rng.integers(30, geo["x_end"] - 30))
    if kind == "open":
        img[y - w:y + w + 1, x:x + 7] = 0
    elif kind == "short":
        y2 = int(ys[k + 1])
        img[y:y2 + 1, x:x + 6] = 255
    elif kind == "mousebite":
        cv2.circle(img, (x, y - w // 2), 5, 0, -1)
    elif kind == "spur":
        img[y + w // 2:y + w // 2 + 7, x:x + 6] = 255
    elif kind == "pin_hole":
        cx, cy = geo["pads"][int(rng.integers(0, len(geo["pads"])))]
        cv2.circle(img, (cx + int(rng.integers(-3, 4)), cy + int(rng.integers(-3, 4))), 3, 0, -1)
    elif kind == "spurious_copper":
        y_gap = (int(ys[k]) + int(ys[k + 1])) // 2
        cv2.circle(img, (x, y_gap), 4, 255, -1)
    else:
        raise ValueError(kind)


def bare_board_pair(seed: int, size: int = 256, kinds: tuple[str, ...] = (), max_shift: float = 3.0,
                    max_rotation_deg: float = 0.5) -> dict:
    """``{"golden", "image", "mask", "boxes"}``: uint8 0/255 images, a bool mask, YOLO boxes
    ``(class, cx, cy, w, h)`` of each defect in the inspected image's frame."""
    rng = np.random.default_rng(seed)
    golden, _ = _layout(np.random.default_rng(seed), size)
    widen = int(rng.choice([-2, -1, 1, 2]))
    clean, geo = _layout(np.random.default_rng(seed), size, widen)
    design = clean.copy()
    per_defect = []
    for kind in kinds:
        before = design.copy()
        _defect(design, rng, kind, geo)
        per_defect.append((kind, before != design))
    angle = float(rng.uniform(-max_rotation_deg, max_rotation_deg))
    dx, dy = rng.uniform(-max_shift, max_shift, 2)
    m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle, 1.0)
    m[:, 2] += (dx, dy)
    warped = cv2.warpAffine(design, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    image = np.where(warped >= 128, 255, 0).astype(np.uint8)
    mask = np.zeros((size, size), bool)
    boxes = []
    for kind, changed in per_defect:
        moved = cv2.warpAffine(changed.astype(np.uint8) * 255, m, (size, size), flags=cv2.INTER_LINEAR) >= 128
        if not moved.any():
            continue
        mask |= moved
        yy, xx = np.nonzero(moved)
        x0, x1, y0, y1 = xx.min(), xx.max() + 1, yy.min(), yy.max() + 1
        boxes.append((CLASSES.index(kind), (x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / size,
                      (y1 - y0) / size))
    return {"golden": golden, "image": image, "mask": mask, "boxes": boxes}


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".png", image)
    assert ok
    path.write_bytes(buf.tobytes())


def write_inspection_folder(root: Path, seeds: list[int], *, boxes: bool = True, masks: bool = True,
                            size: int = 256, prefix: str = "", classes: bool = True) -> dict[str, dict]:
    """An inspection folder of bare-board pairs (one or two defects each; every fourth pair clean)."""
    items = {}
    for n, seed in enumerate(seeds):
        rng = np.random.default_rng(1000 + seed)
        kinds = () if n % 4 == 3 else tuple(rng.choice(CLASSES, size=int(rng.integers(1, 3)), replace=False))
        pair = bare_board_pair(seed, size=size, kinds=kinds)
        item_id = f"{prefix}board_{seed:03d}"
        write_png(root / "images" / f"{item_id}.png", pair["image"])
        write_png(root / "golden" / f"{item_id}.png", pair["golden"])
        if boxes:
            path = root / "boxes" / f"{item_id}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n" for c, cx, cy, w, h in pair["boxes"]))
        if masks:
            write_png(root / "masks" / f"{item_id}.png", pair["mask"].astype(np.uint8) * 255)
        items[item_id] = pair
    if classes:
        (root / "classes.txt").write_text("".join(c + "\n" for c in CLASSES))
    return items
