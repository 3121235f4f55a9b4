"""Material shading for the PCBA render: Lambert + Blinn-Phong, per-material texture.

Copper, solder, silkscreen, solder mask, ceramic and plastic differ in albedo, specular
strength, gloss and surface texture, so each reads as its material in the rendered tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class MaterialLook:
    specular: float
    shininess: float
    metallic: bool
    texture: float  # amplitude of the surface noise


LOOKS = {
    "soldermask": MaterialLook(0.25, 40, False, 0.035),
    "copper": MaterialLook(0.55, 30, True, 0.02),
    "solder": MaterialLook(0.9, 60, True, 0.03),
    "silkscreen": MaterialLook(0.05, 8, False, 0.02),
    "ceramic": MaterialLook(0.12, 12, False, 0.05),
    "resistor_coat": MaterialLook(0.18, 20, False, 0.03),
    "tin": MaterialLook(0.8, 50, True, 0.025),
    "plastic": MaterialLook(0.08, 10, False, 0.04),
}
DEFAULT_LOOK = MaterialLook(0.2, 20, False, 0.02)


def shade(tri_map: np.ndarray, normals: np.ndarray, tri_color: np.ndarray, tri_material: list[str],
          rng: np.random.Generator, light_dir=(-0.35, 0.45, 1.0), ambient: float = 0.32,
          background=(0, 0, 0)) -> np.ndarray:
    """RGB ``uint8`` image of the visible triangles ``tri_map`` (-1 = background)."""
    height, width = tri_map.shape
    image = np.zeros((height, width, 3), np.float32)
    image[:] = np.asarray(background, np.float32) / 255.0
    covered = tri_map >= 0
    if not covered.any():
        return (image * 255).astype(np.uint8)
    light = np.asarray(light_dir, np.float64)
    light /= np.linalg.norm(light)
    half = light + np.array([0.0, 0.0, 1.0])
    half /= np.linalg.norm(half)

    n_tris = len(tri_material)
    names = sorted(set(tri_material))
    looks = [LOOKS.get(m, DEFAULT_LOOK) for m in names]
    look_of_tri = np.array([names.index(m) for m in tri_material], np.int32) if n_tris else np.zeros(0, np.int32)
    spec_k = np.array([lk.specular for lk in looks], np.float32)[look_of_tri]
    shin_k = np.array([lk.shininess for lk in looks], np.float32)[look_of_tri]
    metal_k = np.array([lk.metallic for lk in looks], bool)[look_of_tri]
    tex_k = np.array([lk.texture for lk in looks], np.float32)[look_of_tri]

    # every term but the grain is constant over a triangle: shade the triangles, then look the
    # pixels up (the same float32 operations in the same order, on n_tris rows instead of pixels)
    diffuse = np.clip(normals @ light, 0, None).astype(np.float32)
    spec = np.clip(normals @ half, 0, None).astype(np.float32) ** shin_k * spec_k
    albedo = tri_color.astype(np.float32)
    spec_color = np.where(metal_k[:, None], albedo * 0.6 + 0.4, 1.0).astype(np.float32)
    lit = albedo * (ambient + (1 - ambient) * diffuse)[:, None]
    highlight = spec[:, None] * spec_color

    idx = tri_map[covered]
    noise = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 1.2)
    grain = 1.0 + noise[covered] * tex_k[idx] * 2.5
    image[covered] = lit[idx] * grain[:, None] + highlight[idx]
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
