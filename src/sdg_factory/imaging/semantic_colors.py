"""Colourised semantic segmentation: palettes, colour keys and the Replicator labels JSON.

A Replicator labels file maps colours, written as Python tuple text ``"(r, g, b, a)"``, to
``{"class": "<label>[,<label>…]"}``. Consumers resolve classes through that file, never by
fixed colours.
"""

from __future__ import annotations

import ast

import numpy as np

BACKGROUND = (0, 0, 0, 0)
UNLABELLED = (0, 0, 0, 255)


def color_key(rgba: tuple[int, int, int, int]) -> str:
    return "({}, {}, {}, {})".format(*(int(c) for c in rgba))


def parse_color_key(key: str) -> tuple[int, int, int, int]:
    value = ast.literal_eval(key.strip())
    if not (isinstance(value, tuple) and len(value) == 4 and all(isinstance(c, int) for c in value)):
        raise ValueError(f"colour key {key!r} is not an '(r, g, b, a)' tuple")
    return value


def split_classes(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in str(text).split(",") if s.strip())


def palette(n: int, seed: int) -> list[tuple[int, int, int, int]]:
    """``n`` distinct opaque colours, none equal to BACKGROUND or UNLABELLED."""
    rng = np.random.default_rng(seed)
    colors: list[tuple[int, int, int, int]] = []
    seen = {BACKGROUND, UNLABELLED}
    while len(colors) < n:
        c = tuple(int(x) for x in rng.integers(16, 256, 3)) + (255,)
        if c not in seen:
            seen.add(c)
            colors.append(c)
    return colors


def pack_rgba(image: np.ndarray) -> np.ndarray:
    """``(H, W, 4) uint8`` → ``(H, W) uint32`` so colours compare as single integers."""
    img = np.ascontiguousarray(image[..., :4].astype(np.uint8))
    return img.view(np.uint32).reshape(img.shape[:2])


def pack_color(rgba: tuple[int, int, int, int]) -> int:
    return int(np.array(rgba, np.uint8).view(np.uint32).reshape(-1)[0])


def class_masks(semantic: np.ndarray, labels: dict[str, dict], wanted: set[str]) -> dict[str, np.ndarray]:
    """One boolean mask per wanted class: pixels whose colour's class list contains it."""
    packed = pack_rgba(semantic)
    masks: dict[str, np.ndarray] = {}
    for key, entry in labels.items():
        classes = set(split_classes(entry.get("class", ""))) & wanted
        if not classes:
            continue
        hit = packed == pack_color(parse_color_key(key))
        for cls in classes:
            masks[cls] = masks[cls] | hit if cls in masks else hit
    return masks
