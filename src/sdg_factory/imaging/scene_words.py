"""Scene-prompt words → scene attributes: the word tables a classical composite is steered by.

A template or LLM scene prompt names a surface (``wood``, ``desk``, ``concrete`` …), a room
(``kitchen``, ``warehouse`` …), the light (``warm``, ``night``, ``overcast`` …), the camera
height (``overhead``, ``low angle``), the distance (``close-up``, ``wide``) and clutter
(``book``, ``mug`` …). :func:`scene_style` reads those words into a :class:`SceneStyle`, the
numbers :func:`sdg_factory.imaging.backdrop.render_backdrop` paints with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SURFACES = {  # keyword -> (base RGB, texture)
    "wood": ((150, 105, 65), "wood"), "parquet": ((160, 115, 70), "wood"),
    "shelf": ((170, 130, 85), "wood"), "table": ((140, 100, 62), "wood"),
    "carpet": ((120, 120, 125), "fabric"), "rug": ((150, 90, 80), "fabric"),
    "desk": ((225, 225, 220), "laminate"), "laminate": ((220, 218, 210), "laminate"),
    "counter": ((205, 200, 195), "stone"), "marble": ((225, 222, 218), "stone"),
    "concrete": ((150, 150, 148), "concrete"), "floor": ((165, 150, 130), "wood"),
    "workbench": ((120, 110, 95), "concrete"), "grass": ((80, 130, 60), "grass"),
    "tile": ((210, 205, 200), "tiles"), "asphalt": ((85, 85, 88), "concrete"),
}
WALLS = {
    "bedroom": (205, 190, 175), "living": (215, 205, 190), "kitchen": (225, 225, 215),
    "office": (200, 205, 210), "playroom": (190, 210, 200), "hallway": (210, 200, 185),
    "warehouse": (150, 155, 160), "workshop": (165, 160, 150), "garage": (160, 160, 158),
    "garden": (150, 185, 215), "outdoor": (160, 195, 225), "store": (225, 225, 225),
}
LIGHTS = {  # keyword -> (RGB gain, brightness, contrast)
    "warm": ((1.10, 0.98, 0.82), 1.0, 1.0), "evening": ((1.08, 0.95, 0.80), 0.85, 1.0),
    "lamp": ((1.10, 0.97, 0.80), 0.9, 1.05), "sunset": ((1.15, 0.92, 0.75), 0.9, 1.1),
    "daylight": ((1.0, 1.0, 1.02), 1.08, 1.05), "bright": ((1.0, 1.0, 1.0), 1.12, 1.05),
    "window": ((1.0, 1.0, 1.03), 1.05, 1.1), "sunny": ((1.05, 1.0, 0.95), 1.12, 1.15),
    "fluorescent": ((0.94, 1.0, 1.08), 1.02, 0.95), "cool": ((0.92, 0.98, 1.10), 1.0, 1.0),
    "dim": ((1.0, 0.97, 0.92), 0.65, 0.9), "night": ((0.85, 0.9, 1.1), 0.5, 0.9),
    "overcast": ((0.97, 1.0, 1.03), 0.95, 0.8), "soft": ((1.0, 1.0, 1.0), 1.0, 0.85),
}
CLUTTER = ("book", "mug", "cup", "block", "plant", "box", "cable", "bottle")


@dataclass(frozen=True)
class SceneStyle:
    """What a scene prompt asks for, as numbers the renderer can use."""

    surface_rgb: tuple
    texture: str
    wall_rgb: tuple
    light_gain: tuple
    brightness: float
    contrast: float
    horizon: float        # fraction of the height where the wall meets the surface
    scale: float          # object height as a fraction of the image height (centre of the range)
    clutter: tuple        # distractor kinds
    light_from_left: bool


def _first(words: str, table: dict, default):
    hits = sorted((words.find(k), k) for k in table if k in words)
    return table[hits[0][1]] if hits else default


def scene_style(prompt: str, rng: np.random.Generator) -> SceneStyle:
    """Read a scene prompt's words (any source: template or LLM) into a :class:`SceneStyle`."""
    words = prompt.lower()
    surface_rgb, texture = _first(words, SURFACES, SURFACES["floor"])
    wall = _first(words, WALLS, tuple(int(c) for c in rng.integers(170, 230, 3)))
    gains = [v for k, v in LIGHTS.items() if k in words] or [((1.0, 1.0, 1.0), 1.0, 1.0)]
    gain = tuple(float(np.prod([g[0][i] for g in gains])) for i in range(3))
    brightness = float(np.prod([g[1] for g in gains]))
    contrast = float(np.prod([g[2] for g in gains]))
    horizon = 0.45
    if re.search(r"above|overhead|top.down|high angle", words):
        horizon = 0.22
    elif re.search(r"low angle|ground level|from below", words):
        horizon = 0.62
    scale = 0.42
    if re.search(r"close.up|macro|close", words):
        scale = 0.62
    elif re.search(r"wide|far|distance", words):
        scale = 0.26
    clutter = tuple(k for k in CLUTTER if k in words)
    jitter = rng.uniform(0.9, 1.1, 3)
    surface_rgb = tuple(float(np.clip(c * j, 0, 255)) for c, j in zip(surface_rgb, jitter, strict=False))
    return SceneStyle(surface_rgb, texture, tuple(float(c) for c in wall), gain, brightness, contrast,
                      horizon + float(rng.uniform(-0.05, 0.05)), scale, clutter, bool(rng.random() < 0.5))
