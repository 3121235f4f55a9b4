"""A procedural backdrop painted from a scene prompt's words (wall, surface, light, clutter).

When the classical editor places an object and no background scene is given, it paints one
with :func:`render_backdrop`, so a prompt steers the classical composite as it would steer a
generative editor. :func:`value_noise` and :func:`grade` are the photometric helpers the
weather effects (``imaging/weather.py``) share.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.imaging.scene_words import SceneStyle, scene_style


def value_noise(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Smooth value noise in [-1, 1] with features about ``scale`` pixels wide."""
    sh, sw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    small = rng.standard_normal((sh, sw)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return big / (np.abs(big).max() + 1e-6)


def _texture(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A luminance modulation (around 1.0) for a surface material, ``h×w``."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "wood":
        warp = value_noise(h, w, rng, 40) * 6
        grain = np.sin((y + warp * 3) / rng.uniform(2.5, 4.5)) * 0.06 + value_noise(h, w, rng, 8) * 0.05
        planks = (np.floor(y / rng.uniform(28, 44)) % 2) * 0.05
        return 1 + grain - planks
    if kind == "fabric":
        return 1 + 0.05 * np.sin(x * 1.7) * np.sin(y * 1.7) + value_noise(h, w, rng, 3) * 0.06
    if kind == "stone":
        veins = np.abs(np.sin((x + y + value_noise(h, w, rng, 30) * 40) / 18)) ** 12
        return 1 - 0.15 * veins + value_noise(h, w, rng, 10) * 0.03
    if kind == "concrete":
        return 1 + value_noise(h, w, rng, 2) * 0.06 + value_noise(h, w, rng, 25) * 0.08
    if kind == "grass":
        return 1 + value_noise(h, w, rng, 1.5) * 0.18 + value_noise(h, w, rng, 20) * 0.1
    if kind == "tiles":
        grout = ((x % 48) < 2) | ((y % 48) < 2)
        return 1 - 0.2 * grout + value_noise(h, w, rng, 12) * 0.02
    return 1 + value_noise(h, w, rng, 6) * 0.03  # laminate


def _draw_clutter(image: np.ndarray, kinds: tuple, horizon_y: int, rng: np.random.Generator) -> None:
    """Simple distractors standing on the surface (books, mugs, blocks, plants, boxes)."""
    h, w = image.shape[:2]
    for kind in kinds:
        for _ in range(int(rng.integers(1, 3))):
            base_y = int(rng.uniform(horizon_y + 8, h - 4))
            size = int(h * rng.uniform(0.08, 0.16) * (0.6 + 0.8 * base_y / h))
            cx = int(rng.choice([rng.uniform(0.02, 0.22), rng.uniform(0.78, 0.98)]) * w)
            colour = tuple(int(c) for c in rng.integers(40, 200, 3))
            if kind in ("book", "box"):
                for k in range(int(rng.integers(1, 4))):
                    c = tuple(int(v) for v in np.clip(np.array(colour) + rng.integers(-40, 40, 3), 0, 255))
                    y1 = base_y - (k + 1) * size // 4
                    cv2.rectangle(image, (cx - size // 2, y1), (cx + size // 2, y1 + size // 4 - 1), c, -1)
            elif kind in ("mug", "cup", "bottle"):
                tall = 2 if kind == "bottle" else 1
                cv2.rectangle(image, (cx - size // 4, base_y - size * tall), (cx + size // 4, base_y), colour, -1)
                cv2.ellipse(image, (cx, base_y - size * tall), (size // 4, size // 10), 0, 0, 360,
                            tuple(int(c * 0.6) for c in colour), -1)
            elif kind == "block":
                s = size // 3
                cv2.rectangle(image, (cx - s, base_y - 2 * s), (cx + s, base_y), colour, -1)
            elif kind == "plant":
                cv2.rectangle(image, (cx - size // 4, base_y - size // 2), (cx + size // 4, base_y), (150, 80, 50), -1)
                for _ in range(8):
                    dx, dy = rng.integers(-size // 2, size // 2 + 1), rng.integers(-size, -size // 3)
                    cv2.ellipse(image, (cx + int(dx), base_y - size // 2 + int(dy)), (size // 6, size // 12),
                                float(rng.uniform(0, 180)), 0, 360, (50, 110, 45), -1)
            elif kind == "cable":
                pts = np.stack([np.linspace(0, w, 12), base_y + rng.normal(0, 6, 12)], 1).astype(np.int32)
                cv2.polylines(image, [pts], False, (30, 30, 30), max(1, size // 20))


def render_backdrop(prompt: str, size: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, SceneStyle]:
    """Paint a background scene for ``prompt``: wall, support surface, light, clutter.

    ``size`` is ``(width, height)``. Returns ``(rgb uint8, style)``; the object is later placed
    on the surface below ``style.horizon``.
    """
    w, h = size
    style = scene_style(prompt, rng)
    horizon_y = int(style.horizon * h)
    image = np.empty((h, w, 3), np.float32)
    wall = np.asarray(style.wall_rgb, np.float32)
    image[:horizon_y] = wall * (1 + value_noise(horizon_y or 1, w, rng, 30)[..., None] * 0.03)[: horizon_y]
    floor_h = h - horizon_y
    tex = _texture(style.texture, floor_h, w, rng)
    depth = np.linspace(0.85, 1.05, floor_h, dtype=np.float32)[:, None]
    image[horizon_y:] = np.asarray(style.surface_rgb, np.float32) * (tex * depth)[..., None]
    # skirting line where wall meets surface
    cv2.line(image, (0, horizon_y), (w, horizon_y), tuple(float(c) * 0.7 for c in style.wall_rgb), max(1, h // 120))
    if style.clutter:
        _draw_clutter(image, style.clutter, horizon_y, rng)
    # light: a broad falloff from the light side, then colour gain, brightness and contrast
    x = np.linspace(0, 1, w, dtype=np.float32)
    ramp = 1.1 - 0.25 * (x if style.light_from_left else 1 - x)
    image *= ramp[None, :, None]
    image = grade(image, style.light_gain, style.brightness, style.contrast)
    return np.clip(image, 0, 255).astype(np.uint8), style


def grade(image: np.ndarray, gain, brightness: float, contrast: float) -> np.ndarray:
    """Contrast about the image mean, then a per-channel colour gain and a brightness factor (float)."""
    mean = image.mean()
    out = (image - mean) * contrast + mean
    return out * np.asarray(gain, np.float32) * brightness
