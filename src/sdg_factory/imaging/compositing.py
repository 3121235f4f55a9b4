"""Classical compositing: the embedded image-edit operations of the reference-object pipeline.

The maths of three tasks of the image-edit interface (the ``classical`` editor,
``backends/image_edit/classical.py``, maps each task to these functions), each an honest
OpenCV operation whose output is usable data:

``white_background``
    the object cut out onto white through its mask (feathered edge).
``place_in_scene``
    a perspective (object on white + its mask) placed into a background scene: scaled and
    positioned on the scene's support surface, its colour and brightness harmonised to the
    light where it stands, with a contact shadow and a cast shadow on the background, and the
    scene's grain applied over both. The exact composite mask is handed back through
    ``options["outputs"]`` (see ``place_in_scene_task`` in the classical editor).
``augment``
    lighting / weather edits of a whole image chosen by the words of the prompt (warm,
    night, fog, rain, snow, overcast, harsh light, ...). Photometric only: geometry does not
    change, so the object's mask stays valid.

When no background scene is given, :func:`render_backdrop` paints one from the scene prompt's
words (surface, room, light, camera height, clutter), so a template or LLM prompt steers the
classical composite as it would steer a generative editor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np



class CompositingError(ValueError):
    """An input the compositing cannot use (an empty object mask)."""


# --------------------------------------------------------------------------------------
# prompt words -> scene attributes
# --------------------------------------------------------------------------------------

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
    surface_rgb = tuple(float(np.clip(c * j, 0, 255)) for c, j in zip(surface_rgb, jitter))
    return SceneStyle(surface_rgb, texture, tuple(float(c) for c in wall), gain, brightness, contrast,
                      horizon + float(rng.uniform(-0.05, 0.05)), scale, clutter, bool(rng.random() < 0.5))


# --------------------------------------------------------------------------------------
# procedural backdrops
# --------------------------------------------------------------------------------------

def _noise(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Smooth value noise in [-1, 1] with features about ``scale`` pixels wide."""
    sh, sw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    small = rng.standard_normal((sh, sw)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return big / (np.abs(big).max() + 1e-6)


def _texture(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A luminance modulation (around 1.0) for a surface material, ``h×w``."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "wood":
        warp = _noise(h, w, rng, 40) * 6
        grain = np.sin((y + warp * 3) / rng.uniform(2.5, 4.5)) * 0.06 + _noise(h, w, rng, 8) * 0.05
        planks = (np.floor(y / rng.uniform(28, 44)) % 2) * 0.05
        return 1 + grain - planks
    if kind == "fabric":
        return 1 + 0.05 * np.sin(x * 1.7) * np.sin(y * 1.7) + _noise(h, w, rng, 3) * 0.06
    if kind == "stone":
        veins = np.abs(np.sin((x + y + _noise(h, w, rng, 30) * 40) / 18)) ** 12
        return 1 - 0.15 * veins + _noise(h, w, rng, 10) * 0.03
    if kind == "concrete":
        return 1 + _noise(h, w, rng, 2) * 0.06 + _noise(h, w, rng, 25) * 0.08
    if kind == "grass":
        return 1 + _noise(h, w, rng, 1.5) * 0.18 + _noise(h, w, rng, 20) * 0.1
    if kind == "tiles":
        grout = ((x % 48) < 2) | ((y % 48) < 2)
        return 1 - 0.2 * grout + _noise(h, w, rng, 12) * 0.02
    return 1 + _noise(h, w, rng, 6) * 0.03  # laminate


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
    image[:horizon_y] = wall * (1 + _noise(horizon_y or 1, w, rng, 30)[..., None] * 0.03)[: horizon_y]
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
    image = _grade(image, style.light_gain, style.brightness, style.contrast)
    return np.clip(image, 0, 255).astype(np.uint8), style


def _grade(image: np.ndarray, gain, brightness: float, contrast: float) -> np.ndarray:
    mean = image.mean()
    out = (image - mean) * contrast + mean
    return out * np.asarray(gain, np.float32) * brightness


# --------------------------------------------------------------------------------------
# white background
# --------------------------------------------------------------------------------------

def cutout_on_white(image: np.ndarray, mask: np.ndarray, feather: float = 1.0) -> np.ndarray:
    """The object of ``image`` (RGB) through ``mask`` (>0 = object) onto pure white."""
    alpha = (np.asarray(mask) > 0).astype(np.float32)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather) * alpha  # soften inside the mask only
    rgb = image[..., :3].astype(np.float32)
    out = rgb * alpha[..., None] + 255.0 * (1 - alpha[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# place in scene
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    x: int           # top-left of the object's box in the scene
    y: int
    width: int
    height: int
    scale: float     # object height / scene height

    def as_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height, "scale": round(self.scale, 4)}


def _object_crop(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    binary = np.asarray(mask) > 127 if mask.dtype == np.uint8 else np.asarray(mask) > 0
    ys, xs = np.nonzero(binary)
    if len(ys) == 0:
        raise CompositingError("place_in_scene: the object mask is empty; nothing to place")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return image[y0:y1, x0:x1, :3], binary[y0:y1, x0:x1]


def choose_placement(obj_hw: tuple[int, int], scene_hw: tuple[int, int], horizon: float, scale: float,
                     rng: np.random.Generator) -> Placement:
    """Where the object stands: its base on the surface below the horizon, fully in frame."""
    oh, ow = obj_hw
    sh, sw = scene_hw
    target_h = float(np.clip(scale * rng.uniform(0.8, 1.2), 0.12, 0.85)) * sh
    k = min(target_h / oh, 0.95 * sw / ow, 0.95 * sh / oh)
    height, width = max(4, int(round(oh * k))), max(4, int(round(ow * k)))
    base_lo = min(sh - 2, max(height + 1, int(horizon * sh) + int(0.08 * sh)))
    base_y = int(rng.integers(base_lo, sh - 1)) if base_lo < sh - 1 else sh - 1
    x = int(rng.integers(0, max(1, sw - width)))
    return Placement(x, base_y - height, width, height, height / sh)


def harmonise(obj: np.ndarray, obj_mask: np.ndarray, scene_patch: np.ndarray, strength: float = 0.45) -> np.ndarray:
    """Pull the object's colour cast and brightness toward the light around where it stands.

    Reinhard-style transfer in Lab, partial: the object's mean L moves ``strength`` of the way
    to the local scene's mean L (bounded), and its mean a/b by ``strength/2`` of the local cast.
    Object texture (the per-pixel deviations) is kept.
    """
    lab = cv2.cvtColor(obj, cv2.COLOR_RGB2LAB).astype(np.float32)
    env = cv2.cvtColor(scene_patch, cv2.COLOR_RGB2LAB).astype(np.float32).reshape(-1, 3).mean(0)
    inside = lab[obj_mask]
    if len(inside) == 0:
        return obj
    mean = inside.mean(0)
    shift = np.zeros(3, np.float32)
    shift[0] = np.clip((env[0] - mean[0]) * strength, -35, 35)
    shift[1:] = (env[1:] - 128.0) * strength * 0.5
    lab += shift
    return cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _shadows(scene: np.ndarray, mask: np.ndarray, place: Placement, light_from_left: bool,
             rng: np.random.Generator) -> np.ndarray:
    """Darken the background with a contact shadow and a soft cast shadow of the object."""
    h, w = mask.shape
    shade = np.zeros((h, w), np.float32)
    base_y = place.y + place.height
    cv2.ellipse(shade, (place.x + place.width // 2, min(h - 1, base_y)),
                (max(2, int(place.width * 0.55)), max(1, int(place.height * 0.06))), 0, 0, 360, 1.0, -1)
    shear = (0.6 if light_from_left else -0.6) * rng.uniform(0.6, 1.2)
    squash = rng.uniform(0.25, 0.45)
    m = np.float32([[1, -shear * squash, shear * squash * base_y], [0, squash, (1 - squash) * base_y]])
    cast = cv2.warpAffine(mask.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    shade = np.maximum(shade, cast * 0.7)
    sigma = max(1.0, place.height * 0.04)
    shade = cv2.GaussianBlur(shade, (0, 0), sigma)
    darkness = rng.uniform(0.35, 0.55)
    return scene.astype(np.float32) * (1 - darkness * np.clip(shade, 0, 1))[..., None]


def place_in_scene(obj_image: np.ndarray, obj_mask: np.ndarray, scene: np.ndarray, rng: np.random.Generator,
                   horizon: float = 0.45, scale: float = 0.42, light_from_left: bool = True,
                   grain: float = 2.0) -> tuple[np.ndarray, np.ndarray, Placement]:
    """Composite the object into ``scene``; returns ``(rgb, exact object mask 0/255, placement)``."""
    crop, crop_mask = _object_crop(obj_image, obj_mask)
    sh, sw = scene.shape[:2]
    place = choose_placement(crop.shape[:2], (sh, sw), horizon, scale, rng)
    size = (place.width, place.height)
    interp = cv2.INTER_AREA if place.height < crop.shape[0] else cv2.INTER_LINEAR
    obj = cv2.resize(crop, size, interpolation=interp)
    alpha = cv2.resize(crop_mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    hard = alpha >= 0.5
    # the composite mask is the placed layer, exactly
    mask = np.zeros((sh, sw), np.uint8)
    mask[place.y:place.y + place.height, place.x:place.x + place.width][hard] = 255
    pad = max(place.height, place.width) // 2
    y0, y1 = max(0, place.y - pad), min(sh, place.y + place.height + pad)
    x0, x1 = max(0, place.x - pad), min(sw, place.x + place.width + pad)
    obj = harmonise(obj, hard, scene[y0:y1, x0:x1, :3])
    out = _shadows(scene[..., :3], mask > 0, place, light_from_left, rng)
    # a half-pixel feather inside the exact mask only (no halo outside it)
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), 0.6) * hard
    region = out[place.y:place.y + place.height, place.x:place.x + place.width]
    region[:] = obj.astype(np.float32) * soft[..., None] + region * (1 - soft[..., None])
    if grain > 0:
        out += rng.normal(0, grain, out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), mask, place


# --------------------------------------------------------------------------------------
# augment: lighting / weather
# --------------------------------------------------------------------------------------

AUGMENT_EFFECTS = ("warm", "night", "fog", "rain", "snow", "overcast", "harsh", "cool")
_EFFECT_WORDS = {
    "warm": ("warm", "golden", "sunset", "sunrise", "evening"),
    "night": ("night", "dark", "dim", "moonlight"),
    "fog": ("fog", "mist", "haze", "smoke"),
    "rain": ("rain", "wet", "drizzle"),
    "snow": ("snow", "winter", "frost"),
    "overcast": ("overcast", "cloudy", "grey", "gray", "soft"),
    "harsh": ("harsh", "spotlight", "flash", "direct sun", "strong"),
    "cool": ("cool", "fluorescent", "blue", "led"),
}


def effects_for_prompt(prompt: str) -> list[str]:
    """The classical effects an augmentation prompt names (in the prompt's order)."""
    words = prompt.lower()
    found = [(min(words.find(w) for w in ws if w in words), e) for e, ws in _EFFECT_WORDS.items()
             if any(w in words for w in ws)]
    return [e for _, e in sorted(found)]


def augment_scene(image: np.ndarray, prompt: str, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Apply the lighting/weather edits named in ``prompt``; returns ``(rgb, effects applied)``.

    A prompt naming no known effect gets one chosen by ``rng`` (recorded in the result), never a
    silent copy.
    """
    effects = effects_for_prompt(prompt) or [str(rng.choice(AUGMENT_EFFECTS))]
    out = image[..., :3].astype(np.float32)
    h, w = out.shape[:2]
    for effect in effects:
        if effect == "warm":
            out = _grade(out, (1.12, 0.98, 0.78), rng.uniform(0.95, 1.1), 1.05)
        elif effect == "cool":
            out = _grade(out, (0.9, 0.98, 1.12), rng.uniform(0.95, 1.05), 1.0)
        elif effect == "night":
            out = _grade(out, (0.8, 0.88, 1.15), rng.uniform(0.35, 0.55), 0.9)
            out += rng.normal(0, 4.0, out.shape)
        elif effect == "overcast":
            grey = out.mean(axis=2, keepdims=True)
            out = _grade(grey + (out - grey) * 0.7, (0.98, 1.0, 1.03), 0.95, 0.8)
        elif effect == "harsh":
            cy, cx = rng.uniform(0.2, 0.6) * h, rng.uniform(0.2, 0.8) * w
            y, x = np.mgrid[0:h, 0:w].astype(np.float32)
            spot = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * (0.35 * max(h, w)) ** 2)))
            out = (out - out.mean()) * 1.25 + out.mean()
            out *= (0.55 + 0.75 * spot)[..., None]
        elif effect == "fog":
            density = rng.uniform(0.3, 0.5)
            veil = np.clip(0.6 + 0.4 * _noise(h, w, rng, max(h, w) / 4), 0, 1)[..., None]
            ramp = np.linspace(1.0, 0.6, h, dtype=np.float32)[:, None, None]
            a = density * veil * ramp
            out = out * (1 - a) + 215.0 * a
        elif effect == "rain":
            out = _grade(out, (0.95, 0.98, 1.03), 0.85, 0.9)
            streaks = np.zeros((h, w), np.float32)
            n = int(h * w / 300)
            ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
            streaks[ys, xs] = 1.0
            length = max(5, h // 15) | 1
            kernel = np.zeros((length, length), np.float32)
            cv2.line(kernel, (length // 2 + length // 6, 0), (length // 2 - length // 6, length - 1), 1.0, 1)
            streaks = cv2.filter2D(streaks, -1, kernel / kernel.sum() * 3)
            out = out * (1 - 0.5 * np.clip(streaks, 0, 1)[..., None]) + 230 * 0.5 * np.clip(streaks, 0, 1)[..., None]
        elif effect == "snow":
            out = _grade(out, (0.97, 1.0, 1.05), 1.05, 0.85)
            flakes = np.zeros((h, w), np.float32)
            n = int(h * w / 250)
            for yy, xx, rr in zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(1, 3, n)):
                cv2.circle(flakes, (int(xx), int(yy)), int(rr), 1.0, -1)
            flakes = cv2.GaussianBlur(flakes, (0, 0), 0.8)[..., None]
            out = out * (1 - 0.8 * flakes) + 250 * 0.8 * flakes
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), effects


# --------------------------------------------------------------------------------------
# the classical editor's tasks
# --------------------------------------------------------------------------------------
