"""An object composited through its mask: onto white, or placed into a background scene.

``cutout_on_white`` (the ``white_background`` task) puts the object of an image onto pure white
through its mask, with a feathered edge. ``place_in_scene`` (the ``place_in_scene`` task) scales
and positions a perspective (object on white + its mask) on the scene's support surface, pulls
its colour and brightness toward the light where it stands, adds a contact shadow and a cast
shadow on the background and the scene's grain over both, and returns the exact composite mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


class CompositingError(ValueError):
    """An input the compositing cannot use (an empty object mask)."""


def cutout_on_white(image: np.ndarray, mask: np.ndarray, feather: float = 1.0) -> np.ndarray:
    """The object of ``image`` (RGB) through ``mask`` (>0 = object) onto pure white."""
    alpha = (np.asarray(mask) > 0).astype(np.float32)
    if feather > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather) * alpha  # soften inside the mask only
    rgb = image[..., :3].astype(np.float32)
    out = rgb * alpha[..., None] + 255.0 * (1 - alpha[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


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
