"""A procedural perspective room renderer: the embedded text-to-image default for scenes.

It ray-casts a box-shaped room (floor, four walls, ceiling) furnished with axis-aligned
boxes — the fixtures of each archetype (racking, gondolas, counters, benches, desks,
washers, dock doors, panels and pipes) — from an elevated corner camera, the viewpoint the
scene document asks for (~1.5–2 m high, wide angle, 16:9). Materials are procedural patterns
in world coordinates (so they stay perspective-correct), light comes from ceiling fixtures
(point lights with inverse-square fall-off and Lambert shading), from windows (sun patches on
the floor whose colour follows the time of day), plus contact shadows under fixtures.

Everything is plain numpy; every random choice comes from the generator passed in, so a
scene re-renders to the same pixels. :func:`render_scene` is the entry point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np

# Surface ids of the room shell; fixture boxes get ids from BOX0 upwards.
FLOOR, CEILING, WALL_X0, WALL_X1, WALL_Z0, WALL_Z1 = range(6)
BOX0 = 6
_NORMALS = np.array(
    [[0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]], np.float32
)  # inward normals of the shell surfaces, indexed by surface id

ARCHETYPES = ("kitchen", "warehouse", "grocery", "lab", "office", "home_laundry",
              "loading_dock", "utility_room")


@dataclass
class Box:
    """An axis-aligned fixture: ``lo``/``hi`` corners in metres, a colour and a material."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    color: tuple[float, float, float]
    material: str = "matte"  # matte | metal | glass | products | cardboard | washer | screen
    grounded: bool = True  # casts a contact shadow on the floor


@dataclass
class WallFeature:
    """A rectangle on a wall (window, roll-up door, panel): ``u`` along the wall, ``v`` up."""

    wall: int
    u0: float
    u1: float
    v0: float
    v1: float
    kind: str  # window | door | stripe
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)


@dataclass
class Light:
    position: tuple[float, float, float]
    color: tuple[float, float, float]
    power: float


@dataclass
class Room:
    width: float  # x
    depth: float  # z
    height: float  # y
    floor: dict
    wall: dict
    ceiling: dict
    boxes: list[Box] = field(default_factory=list)
    features: list[WallFeature] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    panels: list[tuple[float, float, float, float]] = field(default_factory=list)  # ceiling x0,x1,z0,z1
    ambient: tuple[float, float, float] = (0.25, 0.25, 0.25)
    sun: tuple[float, float, float] = (0.0, 0.0, 0.0)  # colour × intensity through windows
    sun_dir: tuple[float, float, float] = (0.5, -0.6, 0.4)
    sky: tuple[float, float, float] = (0.8, 0.9, 1.0)


@dataclass
class Camera:
    position: tuple[float, float, float]
    yaw_deg: float  # 0 looks along +z, 90 along +x
    pitch_deg: float  # negative looks down
    hfov_deg: float = 95.0


# ---------------------------------------------------------------------------------------
# Lighting from the variation tags
# ---------------------------------------------------------------------------------------

_LIGHT_COLORS = {
    "fluorescent": (0.92, 0.98, 1.0),
    "led": (1.0, 1.0, 1.0),
    "warm": (1.0, 0.82, 0.6),
    "dim": (0.85, 0.8, 0.75),
    "daylight": (1.0, 0.97, 0.92),
}
_TIME_SUN = {  # sun colour, sun strength, sky colour, sun elevation (deg)
    "early_morning": ((1.0, 0.72, 0.45), 1.6, (0.95, 0.8, 0.7), 12),
    "morning": ((1.0, 0.9, 0.75), 2.0, (0.8, 0.88, 1.0), 28),
    "midday": ((1.0, 1.0, 0.97), 2.2, (0.75, 0.87, 1.0), 60),
    "afternoon": ((1.0, 0.9, 0.75), 1.9, (0.8, 0.86, 0.98), 35),
    "evening": ((1.0, 0.6, 0.35), 1.2, (0.9, 0.6, 0.5), 8),
    "night": ((0.3, 0.35, 0.55), 0.0, (0.05, 0.07, 0.15), 30),
}


def tag_values(tags: list[str] | dict) -> dict[str, str]:
    """``["lighting:warm_pendant", …]`` (or a dict) → ``{"lighting": "warm_pendant", …}``."""
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    out = {}
    for tag in tags or []:
        axis, _, value = str(tag).partition(":")
        out[axis if value else "tag"] = value or axis
    return out


def _lighting_from_tags(tags: dict[str, str]) -> tuple[tuple, float, str, float]:
    """(light colour, light power scale, time of day, ambient scale) from the tags."""
    lighting = tags.get("lighting", "")
    color = _LIGHT_COLORS["led"]
    for key, value in _LIGHT_COLORS.items():
        if key in lighting:
            color = value
    if "natural" in lighting or "window" in lighting:
        color = _LIGHT_COLORS["daylight"]
    power = 1.0
    if "dim" in lighting or "emergency" in lighting or "low" in lighting:
        power = 0.35
    elif "bright" in lighting or "high" in lighting:
        power = 1.35
    elif "natural" in lighting:
        power = 0.55
    time = tags.get("time_of_day", "midday")
    if time not in _TIME_SUN:
        time = next((k for k in _TIME_SUN if k in time), "midday")
    ambient = 0.5 if time == "night" else 1.0
    return color, power, time, ambient


# ---------------------------------------------------------------------------------------
# Room layouts per archetype
# ---------------------------------------------------------------------------------------

def _jitter(rng: np.random.Generator, color, amount: float = 0.06) -> tuple[float, float, float]:
    c = np.clip(np.asarray(color, np.float32) + rng.uniform(-amount, amount, 3), 0.02, 0.98)
    return tuple(float(v) for v in c)


def _span(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A uniform draw in ``[lo, hi]``, or the midpoint when a small room makes the range empty."""
    return float(rng.uniform(lo, hi)) if hi > lo else (lo + hi) / 2


def _tag_level(tags: dict[str, str], key: str, levels: tuple, default):
    """The value of the first ``(words, value)`` level whose words the tag ``key`` contains."""
    text = tags.get(key, "")
    return next((value for words, value in levels if any(k in text for k in words)), default)


def _layout_scale(tags: dict[str, str]) -> float:
    return _tag_level(tags, "layout", ((("compact", "narrow", "small", "tight"), 0.8),
                                       (("open", "wide", "large", "spacious"), 1.25)), 1.0)


def _clutter_level(tags: dict[str, str]) -> int:
    return _tag_level(tags, "clutter", ((("heavy", "cluttered", "messy", "high", "busy"), 3),
                                        (("moderate", "some", "medium", "lived"), 2),
                                        (("minimal", "tidy", "clean", "spotless", "empty"), 0)), 1)


def _occupancy(tags: dict[str, str]) -> int:
    return _tag_level(tags, "occupancy", ((("busy", "crowded", "peak", "rush", "full"), 4),
                                          (("staffed", "few", "light", "working", "occupied", "moderate"), 2)), 0)


def _person(x: float, z: float, rng: np.random.Generator) -> list[Box]:
    shirt = _jitter(rng, rng.choice([(0.2, 0.3, 0.6), (0.7, 0.2, 0.15), (0.9, 0.6, 0.1),
                                     (0.25, 0.5, 0.3), (0.85, 0.85, 0.85)]), 0.05)
    skin = _jitter(rng, (0.72, 0.55, 0.42), 0.12)
    h = float(rng.uniform(1.6, 1.85))
    return [
        Box((x - 0.17, 0.0, z - 0.1), (x + 0.17, h * 0.48, z + 0.1), (0.15, 0.16, 0.22)),
        Box((x - 0.22, h * 0.48, z - 0.13), (x + 0.22, h * 0.85, z + 0.13), shirt),
        Box((x - 0.1, h * 0.86, z - 0.1), (x + 0.1, h, z + 0.1), skin, grounded=False),
    ]


def _scatter(room: Room, rng: np.random.Generator, count: int, colors, size=(0.3, 0.6),
             margin: float = 1.2) -> None:
    for _ in range(count):
        s = rng.uniform(*size, 3)
        x = _span(rng, margin, room.width - margin - s[0])
        z = _span(rng, margin, room.depth - margin - s[2])
        color = _jitter(rng, colors[int(rng.integers(len(colors)))], 0.08)
        room.boxes.append(Box((x, 0.0, z), (x + s[0], s[1] * 0.8, z + s[2]), color, "cardboard"))


def _ceiling_lights(room: Room, rng, color, power: float, nx: int, nz: int, height: float | None = None,
                    panels: bool = True) -> None:
    y = height if height is not None else room.height - 0.05
    for i in range(nx):
        for j in range(nz):
            x = room.width * (i + 0.5) / nx
            z = room.depth * (j + 0.5) / nz
            room.lights.append(Light((x, y - 0.3, z), color, power))
            if panels:
                room.panels.append((x - 0.3, x + 0.3, z - 0.6, z + 0.6))


def _windows(room: Room, rng, wall: int, count: int, v0: float, v1: float, length: float) -> None:
    for k in range(count):
        centre = length * (k + 1) / (count + 1)
        half = float(rng.uniform(0.5, 0.9))
        room.features.append(WallFeature(wall, centre - half, centre + half, v0, v1, "window"))


def _warehouse(room: Room, rng, tags) -> None:
    upright = _jitter(rng, (0.1, 0.25, 0.6), 0.05)
    beam = _jitter(rng, (0.95, 0.45, 0.08), 0.05)
    aisle = float(rng.uniform(2.8, 3.6))
    x = 3.0
    while x < room.width - 2.0:
        z0, z1 = 3.0, room.depth - 2.5
        room.boxes.append(Box((x, 0, z0), (x + 0.1, 6.0, z0 + 0.1), upright))
        room.boxes.append(Box((x, 0, z1), (x + 0.1, 6.0, z1 + 0.1), upright))
        room.boxes.append(Box((x + 1.0, 0, z0), (x + 1.1, 6.0, z0 + 0.1), upright))
        room.boxes.append(Box((x + 1.0, 0, z1), (x + 1.1, 6.0, z1 + 0.1), upright))
        for level in (0.15, 1.6, 3.1, 4.6):
            room.boxes.append(Box((x, level, z0), (x + 1.1, level + 0.12, z1 + 0.1), beam, "metal", False))
            fill = rng.uniform(0.3, 0.95)
            zc = z0 + 0.2
            while zc < z1 - 1.0:
                if rng.random() < fill:
                    w = float(rng.uniform(0.8, 1.2))
                    h = float(rng.uniform(0.6, 1.2))
                    room.boxes.append(Box((x + 0.05, level + 0.12, zc), (x + 1.05, level + 0.12 + h, zc + w),
                                          _jitter(rng, (0.62, 0.46, 0.3), 0.06), "cardboard", False))
                zc += 1.3
        x += 1.1 + aisle
    room.features.append(WallFeature(WALL_Z1, 0.0, room.width, 0.0, 1.0, "stripe", (0.9, 0.8, 0.1)))


def _grocery(room: Room, rng, tags) -> None:
    shelf = _jitter(rng, (0.88, 0.88, 0.86), 0.03)
    x = 2.6
    while x < room.width - 3.0:
        z0, z1 = 2.5, room.depth - 4.0
        room.boxes.append(Box((x, 0, z0), (x + 1.2, 0.15, z1), (0.3, 0.3, 0.32)))
        room.boxes.append(Box((x + 0.55, 0.15, z0), (x + 0.65, 1.9, z1), shelf, "matte"))
        for level in (0.2, 0.65, 1.1, 1.5):
            room.boxes.append(Box((x, level, z0), (x + 1.2, level + 0.04, z1), shelf, "metal", False))
            room.boxes.append(Box((x + 0.05, level + 0.04, z0 + 0.05), (x + 1.15, level + 0.34, z1 - 0.05),
                                  (0.6, 0.3, 0.2), "products", False))
        x += 1.2 + float(rng.uniform(2.0, 2.6))
    # refrigerated cases along the back wall
    room.boxes.append(Box((1.0, 0, room.depth - 1.1), (room.width - 1.0, 2.1, room.depth - 0.1),
                          (0.75, 0.85, 0.95), "glass"))
    # checkout counters near the front
    for k in range(int(rng.integers(2, 4))):
        cx = 2.0 + 3.0 * k
        room.boxes.append(Box((cx, 0, 1.0), (cx + 1.8, 0.95, 1.7), _jitter(rng, (0.25, 0.25, 0.28)), "metal"))


def _kitchen(room: Room, rng, tags) -> None:
    steel = (0.72, 0.74, 0.76)
    room.boxes.append(Box((0.0, 0, room.depth - 0.75), (room.width, 0.92, room.depth), steel, "metal"))
    room.boxes.append(Box((room.width - 0.75, 0, 1.5), (room.width, 0.92, room.depth - 0.75), steel, "metal"))
    room.boxes.append(Box((0.5, 1.9, room.depth - 1.0), (room.width * 0.6, 2.5, room.depth), steel, "metal", False))
    room.boxes.append(Box((0.5, 0.92, room.depth - 0.7), (room.width * 0.6, 1.0, room.depth - 0.1),
                          (0.12, 0.12, 0.12), "metal", False))
    for k in range(int(rng.integers(1, 3))):
        x0 = room.width * (0.3 + 0.25 * k)
        room.boxes.append(Box((x0, 0, room.depth * 0.45), (x0 + 1.6, 0.9, room.depth * 0.45 + 0.8), steel, "metal"))
    room.boxes.append(Box((room.width - 0.45, 1.3, 1.5), (room.width, 1.35, room.depth - 1.0), steel, "metal", False))
    for _k in range(int(rng.integers(3, 8))):
        z = _span(rng, 1.8, room.depth - 1.5)
        room.boxes.append(Box((room.width - 0.4, 1.35, z), (room.width - 0.15, 1.35 + rng.uniform(0.15, 0.35), z + 0.3),
                              _jitter(rng, (0.55, 0.56, 0.58), 0.1), "metal", False))
    room.features.append(WallFeature(WALL_Z1, 0.0, room.width, 0.92, 2.2, "stripe", (0.93, 0.93, 0.9)))


def _lab(room: Room, rng, tags) -> None:
    top = _jitter(rng, rng.choice([(0.1, 0.1, 0.12), (0.9, 0.9, 0.9)]), 0.03)
    cabinet = _jitter(rng, (0.82, 0.84, 0.86), 0.04)
    for k in range(int(rng.integers(2, 4))):
        z = 2.5 + 2.2 * k
        if z > room.depth - 2.0:
            break
        room.boxes.append(Box((1.8, 0, z), (room.width - 1.8, 0.88, z + 1.4), cabinet))
        room.boxes.append(Box((1.75, 0.88, z - 0.05), (room.width - 1.75, 0.93, z + 1.45), top, "matte", False))
        room.boxes.append(Box((2.0, 1.25, z + 0.6), (room.width - 2.0, 1.28, z + 0.8), (0.75, 0.76, 0.78),
                              "metal", False))
        for _ in range(int(rng.integers(3, 9))):
            bx = _span(rng, 2.0, room.width - 2.2)
            room.boxes.append(Box((bx, 0.93, z + 0.3), (bx + 0.12, 0.93 + rng.uniform(0.1, 0.3), z + 0.42),
                                  _jitter(rng, rng.choice([(0.2, 0.5, 0.8), (0.8, 0.3, 0.2), (0.3, 0.7, 0.4),
                                                           (0.9, 0.9, 0.95)]), 0.1), "glass", False))
    for k in range(int(rng.integers(1, 3))):
        x = 1.0 + 1.8 * k
        room.boxes.append(Box((x, 0, room.depth - 0.9), (x + 1.5, 2.4, room.depth), (0.85, 0.86, 0.88), "metal"))
        room.boxes.append(Box((x + 0.1, 0.95, room.depth - 0.92), (x + 1.4, 2.0, room.depth - 0.9),
                              (0.7, 0.8, 0.85), "glass", False))


def _office(room: Room, rng, tags) -> None:
    wood = _jitter(rng, rng.choice([(0.6, 0.45, 0.3), (0.85, 0.83, 0.8), (0.35, 0.25, 0.18)]), 0.04)
    for i in range(int(rng.integers(2, 4))):
        for j in range(int(rng.integers(2, 4))):
            x = 2.0 + 2.4 * i
            z = 2.2 + 2.2 * j
            if x > room.width - 2.0 or z > room.depth - 1.5:
                continue
            room.boxes.append(Box((x, 0.72, z), (x + 1.6, 0.76, z + 0.8), wood, "matte"))
            room.boxes.append(Box((x + 0.05, 0, z + 0.05), (x + 0.1, 0.72, z + 0.75), (0.3, 0.3, 0.32), "metal", False))
            room.boxes.append(Box((x + 1.5, 0, z + 0.05), (x + 1.55, 0.72, z + 0.75), (0.3, 0.3, 0.32), "metal", False))
            room.boxes.append(Box((x + 0.5, 0.76, z + 0.6), (x + 1.1, 1.15, z + 0.63), (0.05, 0.05, 0.06),
                                  "screen", False))
            room.boxes.append(Box((x + 0.55, 0, z - 0.55), (x + 1.05, 0.95, z - 0.1), (0.12, 0.13, 0.16)))
            if rng.random() < 0.6:
                room.boxes.append(Box((x - 0.05, 0, z + 0.8), (x + 1.65, 1.25, z + 0.85),
                                      _jitter(rng, (0.45, 0.5, 0.58), 0.08), "matte"))
    for k in range(int(rng.integers(2, 5))):
        x = 0.6 + 0.55 * k
        room.boxes.append(Box((x, 0, room.depth - 0.65), (x + 0.5, 1.3, room.depth), (0.55, 0.57, 0.6), "metal"))


def _home_laundry(room: Room, rng, tags) -> None:
    white = (0.93, 0.93, 0.92)
    x = 0.5
    for _ in range(2):
        room.boxes.append(Box((x, 0, room.depth - 0.7), (x + 0.68, 0.88, room.depth - 0.05), white, "washer"))
        x += 0.72
    room.boxes.append(Box((x + 0.1, 0.88, room.depth - 0.65), (room.width - 0.3, 0.93, room.depth - 0.05),
                          _jitter(rng, (0.7, 0.6, 0.45), 0.06)))
    room.boxes.append(Box((x + 0.1, 0, room.depth - 0.6), (room.width - 0.3, 0.88, room.depth - 0.1),
                          _jitter(rng, (0.9, 0.9, 0.88), 0.04)))
    room.boxes.append(Box((0.3, 1.6, room.depth - 0.35), (room.width - 0.3, 1.63, room.depth - 0.05),
                          (0.9, 0.9, 0.9), "matte", False))
    for _ in range(int(rng.integers(2, 5))):
        bx = _span(rng, 0.4, room.width - 0.8)
        room.boxes.append(Box((bx, 1.63, room.depth - 0.33), (bx + 0.4, 1.85, room.depth - 0.07),
                              _jitter(rng, rng.choice([(0.6, 0.5, 0.35), (0.3, 0.5, 0.8), (0.9, 0.9, 0.9)]), 0.08),
                              "matte", False))
    _windows(room, rng, WALL_X1, 1, 1.0, 2.1, room.depth)


def _loading_dock(room: Room, rng, tags) -> None:
    n = max(2, int(room.width // 4.0))
    for k in range(n):
        u0 = 1.5 + k * (room.width - 2.0) / n
        room.features.append(WallFeature(WALL_Z1, u0, u0 + 2.7, 0.0, 3.0, "door",
                                          _jitter(rng, rng.choice([(0.25, 0.35, 0.55), (0.55, 0.56, 0.58),
                                                                   (0.7, 0.45, 0.15)]), 0.04)))
        room.boxes.append(Box((u0 + 0.1, 0.0, room.depth - 2.2), (u0 + 2.6, 0.02, room.depth), (0.6, 0.6, 0.6),
                              "stripes", False))
        for side in (u0 - 0.3, u0 + 2.8):
            room.boxes.append(Box((side, 0, room.depth - 0.4), (side + 0.2, 1.2, room.depth - 0.2), (0.95, 0.8, 0.05)))
    for _ in range(int(rng.integers(3, 7))):
        x = _span(rng, 1.0, room.width - 2.5)
        z = _span(rng, 2.5, room.depth - 4.0)
        room.boxes.append(Box((x, 0, z), (x + 1.2, 0.15, z + 1.0), (0.6, 0.45, 0.28)))
        room.boxes.append(Box((x + 0.05, 0.15, z + 0.05), (x + 1.15, 0.15 + rng.uniform(0.5, 1.4), z + 0.95),
                              _jitter(rng, (0.62, 0.48, 0.32), 0.06), "cardboard", False))


def _utility_room(room: Room, rng, tags) -> None:
    grey = (0.6, 0.62, 0.64)
    for k in range(int(rng.integers(2, 5))):
        x = 0.8 + 0.9 * k
        room.boxes.append(Box((x, 1.0, room.depth - 0.2), (x + 0.6, 2.0, room.depth), _jitter(rng, grey, 0.05),
                              "metal", False))
    room.boxes.append(Box((room.width - 1.8, 0, 1.2), (room.width - 0.2, 1.8, 2.6), (0.7, 0.72, 0.7), "metal"))
    room.boxes.append(Box((room.width - 1.0, 0, room.depth - 1.3), (room.width - 0.3, 1.6, room.depth - 0.6),
                          (0.85, 0.85, 0.82), "metal"))
    colors = [(0.75, 0.15, 0.1), (0.2, 0.5, 0.25), (0.8, 0.8, 0.82), (0.2, 0.35, 0.75)]
    for k in range(int(rng.integers(2, 5))):
        y = room.height - 0.35 - 0.22 * k
        z = room.depth - 0.45 - 0.18 * k
        room.boxes.append(Box((0.0, y, z), (room.width, y + 0.12, z + 0.12), colors[k % len(colors)], "metal", False))
        x = room.width - 0.4 - 0.2 * k
        room.boxes.append(Box((x, y, 0.0), (x + 0.12, y + 0.12, room.depth), colors[k % len(colors)], "metal", False))


_BUILDERS = {
    "kitchen": (_kitchen, (9, 7, 3.2), "quarry_tile", (0.55, 0.28, 0.2), "tile", (0.95, 0.95, 0.93)),
    "warehouse": (_warehouse, (24, 20, 9.0), "concrete", (0.55, 0.55, 0.53), "paint", (0.85, 0.86, 0.86)),
    "grocery": (_grocery, (18, 16, 4.8), "tile", (0.9, 0.9, 0.88), "paint", (0.9, 0.88, 0.82)),
    "lab": (_lab, (10, 9, 3.0), "vinyl", (0.8, 0.82, 0.84), "paint", (0.95, 0.96, 0.97)),
    "office": (_office, (12, 10, 2.9), "carpet", (0.35, 0.38, 0.45), "paint", (0.9, 0.89, 0.86)),
    "home_laundry": (_home_laundry, (4.0, 3.4, 2.5), "wood", (0.62, 0.45, 0.3), "paint", (0.88, 0.9, 0.86)),
    "loading_dock": (_loading_dock, (20, 14, 7.0), "concrete", (0.5, 0.5, 0.48), "paint", (0.75, 0.76, 0.74)),
    "utility_room": (_utility_room, (5.0, 4.2, 2.8), "concrete", (0.5, 0.5, 0.5), "block", (0.8, 0.8, 0.78)),
}


def build_room(archetype: str, tags: list[str] | dict, rng: np.random.Generator) -> Room:
    """Furnish a room for ``archetype`` steered by its variation tags."""
    if archetype not in _BUILDERS:
        raise ValueError(f"the procedural renderer has no room layout for archetype {archetype!r}; "
                         f"known: {sorted(_BUILDERS)} (add one in sdg_factory/imaging/rooms.py)")
    values = tag_values(tags)
    builder, (w, d, h), floor_kind, floor_color, wall_kind, wall_color = _BUILDERS[archetype]
    scale = _layout_scale(values) * float(rng.uniform(0.9, 1.1))
    room = Room(
        width=w * scale, depth=d * scale, height=h,
        floor={"kind": floor_kind, "color": _jitter(rng, floor_color, 0.05), "phase": rng.uniform(0, 50, 4)},
        wall={"kind": wall_kind, "color": _jitter(rng, wall_color, 0.05), "phase": rng.uniform(0, 50, 4)},
        ceiling={"kind": "grid" if h < 5 else "deck", "color": _jitter(rng, (0.88, 0.88, 0.87), 0.03)},
    )
    color, power, time, ambient = _lighting_from_tags(values)
    power *= 0.7
    sun_color, sun_power, sky, elevation = _TIME_SUN[time]
    room.sky = sky
    room.ambient = tuple(a * ambient for a in (0.22, 0.22, 0.23))
    room.sun = tuple(c * sun_power for c in sun_color)
    azimuth = float(rng.uniform(-0.5, 0.5))
    el = math.radians(elevation)
    room.sun_dir = (math.cos(el) * math.sin(azimuth), -math.sin(el), -math.cos(el) * math.cos(azimuth))
    if archetype in ("warehouse", "loading_dock"):
        _ceiling_lights(room, rng, color, 60.0 * power, 3, 2, panels=False)
    elif archetype in ("home_laundry", "utility_room"):
        _ceiling_lights(room, rng, color, 3.0 * power, 1, 1, panels=archetype == "home_laundry")
    else:
        _ceiling_lights(room, rng, color, 5.0 * power * (room.height / 3.0) ** 2, 3, 2)
    builder(room, rng, values)
    if archetype not in ("home_laundry", "utility_room", "loading_dock"):
        _windows(room, rng, WALL_Z0, int(rng.integers(1, 4)), room.height * 0.35, room.height * 0.8, room.width)
    clutter = _clutter_level(values)
    _scatter(room, rng, clutter * max(1, int(room.width * room.depth / 40)),
             [(0.62, 0.46, 0.3), (0.2, 0.35, 0.7), (0.15, 0.55, 0.3), (0.8, 0.2, 0.15)],
             size=(0.25, 0.6) if room.width > 6 else (0.15, 0.35), margin=min(1.2, room.width * 0.2))
    for _ in range(_occupancy(values) * (2 if room.width > 15 else 1)):
        room.boxes.extend(_person(_span(rng, min(1.5, room.width * 0.35), room.width - 0.6),
                                  _span(rng, min(1.5, room.depth * 0.35), room.depth - 0.6), rng))
    return room


def default_camera(room: Room, rng: np.random.Generator, height_m: float | None = None,
                   yaw_deg: float | None = None) -> Camera:
    """The document's viewpoint: an elevated corner (~1.5–2 m), looking across the room."""
    h = float(height_m) if height_m is not None else float(rng.uniform(1.5, 2.0))
    h = min(h, room.height - 0.3)
    diag = math.degrees(math.atan2(room.width, room.depth))
    yaw = float(yaw_deg) if yaw_deg is not None else diag + float(rng.uniform(-8, 8))
    pitch = -math.degrees(math.atan2(h - 0.2 * room.height, math.hypot(room.width, room.depth) * 0.55))
    return Camera((0.35, h, 0.35), yaw, max(pitch, -25.0), float(rng.uniform(88, 100)))


# ---------------------------------------------------------------------------------------
# Ray casting and shading
# ---------------------------------------------------------------------------------------

def _basis(camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yaw, pitch = math.radians(camera.yaw_deg), math.radians(camera.pitch_deg)
    f = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    r = np.cross([0.0, 1.0, 0.0], f)
    r /= np.linalg.norm(r)
    u = np.cross(f, r)
    return f, r, u


def _rays(camera: Camera, width: int, height: int) -> tuple[np.ndarray, tuple]:
    f, r, u = _basis(camera)
    tx = math.tan(math.radians(camera.hfov_deg) / 2)
    ty = tx * height / width
    xs = ((np.arange(width, dtype=np.float32) + 0.5) / width * 2 - 1) * tx
    ys = ((np.arange(height, dtype=np.float32) + 0.5) / height * 2 - 1) * ty
    d = f[None, None, :] + xs[None, :, None] * r[None, None, :] - ys[:, None, None] * u[None, None, :]
    d = d.astype(np.float32)
    d /= np.linalg.norm(d, axis=2, keepdims=True)
    return d, (f, r, u, tx, ty)


def _project_bounds(box: Box, origin: np.ndarray, basis: tuple, width: int, height: int):
    """Pixel rectangle covered by ``box``, or ``None`` when it must be tested everywhere."""
    f, r, u, tx, ty = basis
    corners = np.array([[x, y, z] for x in (box.lo[0], box.hi[0]) for y in (box.lo[1], box.hi[1])
                        for z in (box.lo[2], box.hi[2])]) - origin
    depth = corners @ f
    if np.any(depth < 0.05):
        if np.all(depth < 0.0):
            return (0, 0, 0, 0)
        return None
    px = ((corners @ r) / depth / tx + 1) / 2 * width
    py = (1 - (corners @ u) / depth / ty) / 2 * height
    x0, x1 = max(0, int(px.min()) - 1), min(width, int(px.max()) + 2)
    y0, y1 = max(0, int(py.min()) - 1), min(height, int(py.max()) + 2)
    return (y0, y1, x0, x1)


def _band_bounds(box: Box, origin: np.ndarray, basis: tuple, width: int, height: int,
                 row0: int, rows: int):
    """:func:`_project_bounds` in the coordinates of a band of ``rows`` rows starting at ``row0``."""
    bounds = _project_bounds(box, origin, basis, width, height)
    if bounds is None:
        return (0, rows, 0, width)
    y0, y1, x0, x1 = bounds
    return (max(0, y0 - row0), min(rows, y1 - row0), x0, x1)


def _intersect(room: Room, origin: np.ndarray, d: np.ndarray, bounds_of):
    """Nearest hit per pixel: distance ``t``, surface id, and face normal code.

    ``bounds_of(box)`` gives the pixel rectangle of ``d`` a box can cover, so small fixtures
    are only tested where they can appear.
    """
    H, W, _ = d.shape
    o = origin.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        tx = np.where(d[..., 0] > 0, (room.width - o[0]) * inv[..., 0], -o[0] * inv[..., 0])
        ty = np.where(d[..., 1] > 0, (room.height - o[1]) * inv[..., 1], -o[1] * inv[..., 1])
        tz = np.where(d[..., 2] > 0, (room.depth - o[2]) * inv[..., 2], -o[2] * inv[..., 2])
    stack = np.stack([np.nan_to_num(tx, nan=np.inf, posinf=np.inf),
                      np.nan_to_num(ty, nan=np.inf, posinf=np.inf),
                      np.nan_to_num(tz, nan=np.inf, posinf=np.inf)])
    axis = np.argmin(stack, axis=0)
    t = np.take_along_axis(stack, axis[None], 0)[0]
    surface = np.where(axis == 0, np.where(d[..., 0] > 0, WALL_X1, WALL_X0),
                       np.where(axis == 1, np.where(d[..., 1] > 0, CEILING, FLOOR),
                                np.where(d[..., 2] > 0, WALL_Z1, WALL_Z0))).astype(np.int32)
    normal_code = surface.copy()  # shell surfaces use their own inward normals
    for index, box in enumerate(room.boxes):
        y0, y1, x0, x1 = bounds_of(box)
        if y1 <= y0 or x1 <= x0:
            continue
        sub_inv = inv[y0:y1, x0:x1]
        lo = (np.asarray(box.lo, np.float32) - o) * sub_inv
        hi = (np.asarray(box.hi, np.float32) - o) * sub_inv
        tmin = np.minimum(lo, hi)
        tmax = np.maximum(lo, hi)
        tmin = np.nan_to_num(tmin, nan=-np.inf)
        tmax = np.nan_to_num(tmax, nan=np.inf)
        # the max/min over the 3 axes as two element-wise steps (exact, and no NaN is left):
        # a reduction over a last axis of 3 is numpy's slowest loop
        t_enter = np.maximum(np.maximum(tmin[..., 0], tmin[..., 1]), tmin[..., 2])
        t_exit = np.minimum(np.minimum(tmax[..., 0], tmax[..., 1]), tmax[..., 2])
        hit = (t_exit >= np.maximum(t_enter, 1e-3)) & (t_enter > 1e-3) & (t_enter < t[y0:y1, x0:x1])
        if not hit.any():
            continue
        # argmax's first axis holding the maximum
        enter_axis = np.where(tmin[..., 0] == t_enter, 0, np.where(tmin[..., 1] == t_enter, 1, 2))
        sign = np.take_along_axis(d[y0:y1, x0:x1], enter_axis[..., None], 2)[..., 0] > 0
        # the face met first faces back toward the ray: normal = -sign(d) along the entry axis
        code = np.where(enter_axis == 0, np.where(sign, 3, 2),
                        np.where(enter_axis == 1, np.where(sign, 1, 0), np.where(sign, 5, 4)))
        t[y0:y1, x0:x1] = np.where(hit, t_enter, t[y0:y1, x0:x1])
        surface[y0:y1, x0:x1] = np.where(hit, BOX0 + index, surface[y0:y1, x0:x1])
        normal_code[y0:y1, x0:x1] = np.where(hit, code, normal_code[y0:y1, x0:x1])
    return t, surface, normal_code


def _wave(a: np.ndarray, b: np.ndarray, phase: np.ndarray, scale: float) -> np.ndarray:
    """Smooth world-space mottling in [-1, 1] (sum of incommensurate sines)."""
    return (np.sin(a * 1.7 / scale + phase[0]) * np.sin(b * 2.3 / scale + phase[1])
            + 0.5 * np.sin((a + b) * 4.1 / scale + phase[2]) + 0.3 * np.sin((a - b) * 7.3 / scale + phase[3])) / 1.8


def _lines(a: np.ndarray, period: float, width: float) -> np.ndarray:
    frac = np.mod(a, period) / period
    return (frac < width / period) | (frac > 1 - width / period)


def _floor_albedo(room: Room, x, z) -> np.ndarray:
    base = np.asarray(room.floor["color"], np.float32)
    kind, phase = room.floor["kind"], room.floor["phase"]
    shade = 1 + 0.08 * _wave(x, z, phase, 1.0)
    if kind in ("tile", "quarry_tile", "vinyl"):
        size = {"tile": 0.6, "quarry_tile": 0.3, "vinyl": 0.3}[kind]
        grout = _lines(x, size, 0.012) | _lines(z, size, 0.012)
        shade = np.where(grout, 0.7, shade + 0.04 * np.sin(np.floor(x / size) * 12.9 + np.floor(z / size) * 78.2))
    elif kind == "wood":
        plank = np.floor(z / 0.14)
        shade = shade * (1 + 0.1 * np.sin(plank * 37.1)) * (1 + 0.05 * np.sin(x * 9 + plank * 3))
        shade = np.where(_lines(z, 0.14, 0.004), 0.75, shade)
    elif kind == "carpet":
        shade = shade * (1 + 0.05 * np.sin(x * 60) * np.sin(z * 57)) \
            * np.where(_lines(x, 0.5, 0.01) | _lines(z, 0.5, 0.01), 0.94, 1.0)
    elif kind == "concrete":
        shade = shade * (1 + 0.06 * _wave(x, z, phase[::-1], 0.25))
        shade = np.where(_lines(x, 6.0, 0.006) | _lines(z, 6.0, 0.006), 0.8, shade)
    return base[None, :] * shade[:, None]


def _wall_albedo(room: Room, u, v) -> np.ndarray:
    base = np.asarray(room.wall["color"], np.float32)
    kind, phase = room.wall["kind"], room.wall["phase"]
    shade = 1 + 0.03 * _wave(u, v, phase, 1.5)
    if kind == "tile":
        shade = np.where(_lines(u, 0.15, 0.004) | _lines(v, 0.075, 0.004), 0.8, shade)
    elif kind == "block":
        row = np.floor(v / 0.2)
        shade = np.where(_lines(v, 0.2, 0.006) | _lines(u + 0.2 * np.mod(row, 2), 0.4, 0.006), 0.78, shade)
    baseboard = v < 0.1
    albedo = base[None, :] * shade[:, None]
    albedo[baseboard] = albedo[baseboard] * 0.45
    return albedo


def _ceiling_albedo(room: Room, x, z) -> np.ndarray:
    base = np.asarray(room.ceiling["color"], np.float32)
    if room.ceiling["kind"] == "grid":
        shade = np.where(_lines(x, 0.6, 0.012) | _lines(z, 1.2, 0.012), 0.75, 1.0)
    else:  # exposed deck: corrugations and joists
        shade = (0.85 + 0.1 * np.sign(np.sin(x * 2 * math.pi / 0.3))) * np.where(_lines(z, 3.0, 0.08), 0.6, 1.0)
    return base[None, :] * shade[:, None]


def _box_albedo(box: Box, p: np.ndarray, code: np.ndarray, rng_phase: float) -> np.ndarray:
    base = np.asarray(box.color, np.float32)
    n = len(p)
    albedo = np.repeat(base[None, :], n, 0)
    if box.material == "products":
        # rows of packaged goods: vertical colour bands along the shelf
        along = p[:, 2] if (box.hi[2] - box.lo[2]) > (box.hi[0] - box.lo[0]) else p[:, 0]
        item = np.floor(along / 0.11)
        hue = np.mod(item * 0.61803 + rng_phase + np.floor(p[:, 1] / 0.45) * 0.37, 1.0)
        albedo = np.stack([0.5 + 0.45 * np.cos(2 * math.pi * (hue + k / 3)) for k in range(3)], 1).astype(np.float32)
        albedo *= np.where(_lines(along, 0.11, 0.006), 0.4, 1.0)[:, None]
    elif box.material == "cardboard":
        tape = np.abs(p[:, 0] - (box.lo[0] + box.hi[0]) / 2) < 0.03
        albedo[tape & (code == 0)] *= 1.25
    elif box.material == "washer":
        front = code == 5  # face looking toward -z
        cx, cy = (box.lo[0] + box.hi[0]) / 2, box.lo[1] + 0.42
        r = np.hypot(p[:, 0] - cx, p[:, 1] - cy)
        albedo[front & (r < 0.22)] = (0.12, 0.14, 0.18)
        albedo[front & (r >= 0.22) & (r < 0.25)] = (0.7, 0.72, 0.75)
        albedo[front & (p[:, 1] > box.hi[1] - 0.12)] *= 0.85
    elif box.material == "stripes":
        stripe = np.mod(np.floor((p[:, 0] + p[:, 2]) / 0.25), 2) == 0
        albedo[stripe] = (0.95, 0.8, 0.05)
        albedo[~stripe] = (0.1, 0.1, 0.1)
    return albedo


def _pixels_by_surface(surface: np.ndarray, count: int) -> list[np.ndarray]:
    """The pixel indices of each surface id below ``count``, each in ascending order (what
    ``np.flatnonzero(surface == id)`` gives), from one stable sort instead of a pass per id."""
    order = np.argsort(surface, kind="stable")
    ends = np.cumsum(np.bincount(surface, minlength=count)[:count])
    return np.split(order, ends[:-1])


def _shade(room: Room, origin, d, t, surface, code, rng: np.random.Generator) -> np.ndarray:
    """Albedo, emission and lighting of every pixel's hit point. Each surface's pixels are an
    index array (:func:`_pixels_by_surface`), so a room of many fixtures does not compare the
    whole chunk once per fixture; every value is computed by the same float32 operations."""
    H, W, _ = d.shape
    p = (origin[None, None, :] + d * t[..., None]).reshape(-1, 3).astype(np.float32)
    surface = surface.reshape(-1)
    code = code.reshape(-1)
    normals = _NORMALS[code]
    albedo = np.zeros((H * W, 3), np.float32)
    emission = np.zeros((H * W, 3), np.float32)
    spec = np.zeros(H * W, np.float32)
    pixels = _pixels_by_surface(surface, BOX0 + len(room.boxes))

    m = pixels[FLOOR]
    albedo[m] = _floor_albedo(room, p[m, 0], p[m, 2])
    m = pixels[CEILING]
    x, z = p[m, 0], p[m, 2]
    albedo[m] = _ceiling_albedo(room, x, z)
    for x0, x1, z0, z1 in room.panels:
        lit = m[(x >= x0) & (x <= x1) & (z >= z0) & (z <= z1)]
        emission[lit] = np.asarray(room.lights[0].color if room.lights else (1, 1, 1)) * 1.6
    walls = {WALL_X0: (2, 1), WALL_X1: (2, 1), WALL_Z0: (0, 1), WALL_Z1: (0, 1)}
    for wall, (ua, va) in walls.items():
        m = pixels[wall]
        albedo[m] = _wall_albedo(room, p[m, ua], p[m, va])
    for feature in room.features:
        ua = 2 if feature.wall in (WALL_X0, WALL_X1) else 0
        on_wall = pixels[feature.wall]
        u, v = p[on_wall, ua], p[on_wall, 1]
        inside = (u >= feature.u0) & (u <= feature.u1) & (v >= feature.v0) & (v <= feature.v1)
        m, u, v = on_wall[inside], u[inside], v[inside]
        if feature.kind == "window":
            frame = (_lines(u - feature.u0, (feature.u1 - feature.u0) / 2, 0.03)
                     | _lines(v - feature.v0, (feature.v1 - feature.v0), 0.03))
            glass = m[~frame]
            emission[glass] = np.asarray(room.sky) * (1.2 + 0.3 * (v[~frame] - feature.v0))[:, None]
            albedo[glass] = 0.0
            albedo[m[frame]] = (0.85, 0.85, 0.85)
        elif feature.kind == "door":
            ribs = np.mod(v, 0.15) < 0.03
            albedo[m] = np.asarray(feature.color) * np.where(ribs, 0.6, 1.0)[:, None]
            edge = m[(u - feature.u0 < 0.18) | (feature.u1 - u < 0.18) | (feature.v1 - v < 0.25)]
            albedo[edge] = (0.08, 0.08, 0.08)
        else:
            albedo[m] = feature.color

    phase = float(rng.uniform(0, 1))
    for index, box in enumerate(room.boxes):
        m = pixels[BOX0 + index]
        if not m.size:
            continue
        albedo[m] = _box_albedo(box, p[m], code[m], phase + index * 0.13)
        if box.material == "metal":
            spec[m] = 0.35
        elif box.material in ("glass", "screen"):
            spec[m] = 0.6
            if box.material == "glass":
                emission[m] += np.asarray(box.color) * 0.35
        if box.material == "screen" and rng.random() < 0.7:
            front = m[code[m] == 4]
            emission[front] = _jitter(rng, (0.35, 0.5, 0.7), 0.2)

    # lighting: ambient + point lights (Lambert, inverse square) + sun patches through windows
    light = np.repeat(np.asarray(room.ambient, np.float32)[None, :], H * W, 0)
    ao = _contact_shadow(room, p, pixels[FLOOR])
    light *= ao[:, None]
    _add_point_lights(room, p, d.reshape(-1, 3), normals, spec, ao, light, emission)
    light += _sun_patches(room, p, pixels[FLOOR], normals)

    color = albedo * light + emission
    # atmospheric depth cue for big halls
    fog = 1 - np.exp(-t.reshape(-1) / (room.width * 6))
    color = color * (1 - fog[:, None]) + fog[:, None] * np.asarray(room.ambient) * 2.0
    return color.reshape(H, W, 3)


def _add_point_lights(room: Room, p: np.ndarray, d: np.ndarray, normals: np.ndarray, spec: np.ndarray,
                      ao: np.ndarray, light: np.ndarray, emission: np.ndarray) -> None:
    """Add each point light's Lambert term (inverse square) to ``light`` and its Blinn highlight on
    specular surfaces to ``emission``, in place.

    The float32 operations are those of ``L = position - p; L /= |L| + 1e-6; n·L`` (for the
    finite points the closed shell gives every ray), so the bits are the same, laid out to be cheap: one
    contiguous array per coordinate and per colour channel, the pixels grouped by the axis of
    their normal. Every normal is an axis (``_NORMALS``), so ``n·L`` is ``±L`` along it (the two
    ``0·L`` terms add ±0, which the clip to ≥ 0 and the sum into ``light`` do not see).
    Highlights are computed only where ``spec > 0``: elsewhere they add 0.0, which leaves the
    emission's bits as they are.
    """
    axis = np.argmax(np.abs(normals), axis=1).astype(np.uint8)
    order = np.argsort(axis, kind="stable")                 # grouped by axis: x, then y, then z
    first_y, first_z = np.searchsorted(axis[order], [1, 2])
    coords = [p[order, k] for k in range(3)]
    sign = normals[order, axis[order]]
    occlusion = (0.55 + 0.45 * ao)[order]
    channels = [light[order, c] for c in range(3)]
    shiny_at = np.flatnonzero(spec[order] > 0)             # positions in the grouped order
    shiny = order[shiny_at]
    view = -d[shiny]
    spec_shiny, normals_shiny = spec[shiny], normals[shiny]
    along = np.empty(len(p), np.float32)
    for source in room.lights:
        position = np.asarray(source.position, np.float32)
        lx, ly, lz = (position[k] - coords[k] for k in range(3))
        dist2 = lx * lx + ly * ly + lz * lz
        norm = np.sqrt(dist2) + 1e-6
        along[:first_y], along[first_y:first_z], along[first_z:] = lx[:first_y], ly[first_y:first_z], lz[first_z:]
        lam = np.clip(along / norm * sign, 0, None)
        falloff = source.power / (dist2 + 1.0)
        weight = lam * falloff * occlusion
        color = np.asarray(source.color, np.float32)
        for c in range(3):
            channels[c] += weight * color[c]
        if shiny.size == 0:
            continue
        half = np.stack([lx[shiny_at], ly[shiny_at], lz[shiny_at]], 1) / norm[shiny_at, None] + view
        half /= np.linalg.norm(half, axis=1, keepdims=True) + 1e-6
        highlight = np.clip(np.einsum("ij,ij->i", normals_shiny, half), 0, None) ** 24
        emission[shiny] += (spec_shiny * highlight * falloff[shiny_at] * 0.8)[:, None] * color[None, :]
    light[order] = np.stack(channels, 1)


def _contact_shadow(room: Room, p: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Darkening of floor points (``floor``: their indices) near grounded fixtures and near
    wall/floor corners."""
    ao = np.ones(len(p), np.float32)
    if floor.size == 0:
        return ao
    x, z = p[floor, 0], p[floor, 2]
    edge = np.minimum.reduce([x, room.width - x, z, room.depth - z])
    shade = 1 - 0.35 * np.exp(-edge / 0.25)
    for box in room.boxes:
        if not box.grounded or box.lo[1] > 0.05:
            continue
        dx = np.maximum(np.maximum(box.lo[0] - x, x - box.hi[0]), 0)
        dz = np.maximum(np.maximum(box.lo[2] - z, z - box.hi[2]), 0)
        reach = 0.15 + 0.25 * min(box.hi[1], 2.0)
        shade *= 1 - 0.55 * np.exp(-np.hypot(dx, dz) / reach)
    ao[floor] = shade
    return ao


def _sun_patches(room: Room, p: np.ndarray, floor: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Sunlight that enters through windows and lands on the floor points (``floor``: their
    indices; no occlusion by fixtures)."""
    out = np.zeros((len(p), 3), np.float32)
    if max(room.sun) <= 0:
        return out
    sun = -np.asarray(room.sun_dir, np.float32)  # toward the sun
    for feature in room.features:
        if feature.kind != "window" or floor.size == 0:
            continue
        q = p[floor]
        axis, plane = {WALL_X0: (0, 0.0), WALL_X1: (0, room.width),
                       WALL_Z0: (2, 0.0), WALL_Z1: (2, room.depth)}[feature.wall]
        if abs(sun[axis]) < 1e-3:
            continue
        s = (plane - q[:, axis]) / sun[axis]
        ok = s > 0
        hit = q + s[:, None] * sun[None, :]
        ua = 2 if axis == 0 else 0
        inside = ok & (hit[:, ua] >= feature.u0) & (hit[:, ua] <= feature.u1) & \
            (hit[:, 1] >= feature.v0) & (hit[:, 1] <= feature.v1)
        out[floor[inside]] += np.asarray(room.sun, np.float32) * max(0.0, float(sun[1]))
    return out


def render_room(room: Room, camera: Camera, width: int, height: int, rng: np.random.Generator,
                exposure: float = 1.05, chunk_rows: int = 192) -> np.ndarray:
    """Render ``room`` seen from ``camera`` as an ``height×width×3`` ``uint8`` RGB image."""
    origin = np.asarray(camera.position, np.float32)
    d_all, basis = _rays(camera, width, height)
    out = np.empty((height, width, 3), np.uint8)
    noise_rng = np.random.default_rng(rng.integers(2**63))
    shade_seed = int(rng.integers(2**63))
    for y0 in range(0, height, chunk_rows):
        y1 = min(height, y0 + chunk_rows)
        d = d_all[y0:y1]
        bounds_of = partial(_band_bounds, origin=origin, basis=basis, width=width, height=height,
                            row0=y0, rows=y1 - y0)
        t, surface, code = _intersect(room, origin, d, bounds_of)
        color = _shade(room, origin, d, t, surface, code, np.random.default_rng(shade_seed))
        color = 1 - np.exp(-color * exposure)  # filmic-ish tone curve
        ys = (np.arange(y0, y1, dtype=np.float32)[:, None] / height - 0.5) * 2
        xs = (np.arange(width, dtype=np.float32)[None, :] / width - 0.5) * 2
        vignette = 1 - 0.22 * (xs**2 * 0.6 + ys**2 * 0.9)
        color = color * vignette[..., None]
        color = np.clip(color, 0, 1) ** (1 / 2.2)
        color += noise_rng.normal(0, 0.008, color.shape).astype(np.float32)
        out[y0:y1] = np.clip(color * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def render_scene(archetype: str, tags: list[str] | dict, width: int = 2048, height: int = 1152,
                 seed: int = 0, camera: dict | None = None) -> np.ndarray:
    """Build and render one archetype scene (2K 16:9 by default) from its tags and seed."""
    if width < 16 or height < 9:
        raise ValueError(f"scene size {width}x{height} is too small; use at least 16x9")
    rng = np.random.default_rng(int(seed))
    room = build_room(archetype, tags, rng)
    camera = camera or {}
    cam = default_camera(room, rng, camera.get("height_m"), camera.get("yaw_deg"))
    return render_room(room, cam, int(width), int(height), rng)
