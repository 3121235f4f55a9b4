"""Procedural texture defects: the pixels of a defect, painted inside its placement mask.

Plain numpy/OpenCV over an RGB ``uint8`` clean ROI, a placement mask (``uint8`` 0/255, see
:mod:`sdg_factory.imaging.defect_masks`) and the ROI's semantic regions. Colours are sampled
from the clean image itself (its solder, pads and board), so the defect follows the restyled
appearance. Every function returns an image equal to the clean one outside the mask
(:func:`composite`), which is what makes the masks exact.

- solder (``bridge``, ``excess_solder``): a metallic dome — height from the distance to the
  mask edge, normals from its gradient, Lambert shading and a Blinn–Phong specular highlight;
- ``missing``: the part is gone: the board is filled in, and the pads it sat on come back
  (convex hulls of the visible pad pieces) with a dull solder residue;
- ``scratch``: a bright (on dark surfaces) or dark (on light ones) groove with a lit edge;
- ``discoloration``: a brownish tint with a smooth, mottled strength.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.imaging.defect_masks import components, footprint

DEFAULT_SOLDER = (196, 198, 192)
DEFAULT_BOARD = (40, 96, 52)
DEFAULT_PAD = (205, 170, 90)
LIGHT = np.array([-0.45, -0.55, 0.70])


def composite(clean: np.ndarray, painted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``painted`` inside the mask, ``clean`` (bit for bit) outside."""
    inside = (np.asarray(mask) > 0)[..., None]
    return np.where(inside, np.clip(painted, 0, 255).astype(np.uint8), clean).astype(np.uint8)


def median_color(image: np.ndarray, region: np.ndarray, default: tuple[int, int, int]) -> np.ndarray:
    if region is not None and region.sum() >= 4:
        return np.median(image[region].reshape(-1, 3), axis=0).astype(np.float32)
    return np.array(default, np.float32)


def _noise(shape: tuple[int, int], rng: np.random.Generator, sigma: float, blur: float = 0.0) -> np.ndarray:
    field = rng.standard_normal(shape).astype(np.float32)
    if blur > 0:
        field = cv2.GaussianBlur(field, (0, 0), blur)
        field /= max(float(field.std()), 1e-6)
    return field * sigma


def solder_dome(clean: np.ndarray, mask: np.ndarray, regions: dict[str, np.ndarray],
                rng: np.random.Generator) -> np.ndarray:
    """Metallic solder over the mask, shaded as a dome with a specular highlight."""
    m = (mask > 0).astype(np.uint8)
    solder_like = regions["solder"] if regions["solder"].sum() >= 4 else regions["pin"] | regions["terminal"]
    base = median_color(clean, solder_like, DEFAULT_SOLDER)
    base = 0.5 * base + 0.5 * np.array(DEFAULT_SOLDER, np.float32)  # tin, whatever the plating
    dist = cv2.distanceTransform(np.pad(m, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    t = dist / max(float(dist.max()), 1.0)
    height = np.sqrt(np.clip(1 - (1 - t) ** 2, 0, 1)) * max(float(dist.max()), 1.0)
    height = cv2.GaussianBlur(height, (0, 0), 1.0) + _noise(m.shape, rng, 0.15, 1.5)
    gy, gx = np.gradient(height)
    normal = np.dstack([-gx, -gy, np.ones_like(gx)])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    light = LIGHT / np.linalg.norm(LIGHT)
    half = light + np.array([0, 0, 1.0])
    half /= np.linalg.norm(half)
    diffuse = np.clip(normal @ light, 0, 1)
    specular = np.clip(normal @ half, 0, 1) ** 40
    shade = 0.30 + 0.85 * diffuse
    painted = base[None, None, :] * shade[..., None] + 255 * 0.9 * specular[..., None]
    painted += _noise(m.shape, rng, 4.0)[..., None]
    return composite(clean, painted, mask)


def revealed_pads(regions: dict[str, np.ndarray]) -> np.ndarray:
    """Pads under a removed part: the convex hull of the visible pieces of each land."""
    lands = regions["pad"] | regions["solder"] | regions["terminal"] | regions["pin"]
    out = np.zeros(lands.shape, np.uint8)
    for land in components(lands, min_area=4):
        pad = land & regions["pad"]
        if pad.sum() < 4:
            continue
        ys, xs = np.nonzero(pad)
        hull = cv2.convexHull(np.stack([xs, ys], 1).astype(np.int32))
        cv2.fillConvexPoly(out, hull, 1)
    return out > 0


def missing_part(clean: np.ndarray, mask: np.ndarray, regions: dict[str, np.ndarray],
                 rng: np.random.Generator) -> np.ndarray:
    """The component removed: bare board with its textured noise, and the pads it sat on."""
    board_px = regions["board"] & ~footprint(regions)
    board = median_color(clean, board_px, DEFAULT_BOARD)
    spread = float(np.clip(clean[board_px].std(axis=0).mean(), 1.5, 8.0)) if board_px.sum() > 8 else 3.0
    pad = median_color(clean, regions["pad"], DEFAULT_PAD)
    painted = np.empty(clean.shape, np.float32)
    painted[:] = board
    painted += _noise(mask.shape, rng, spread, 1.2)[..., None]
    pads = revealed_pads(regions)
    residue = np.clip(_noise(mask.shape, rng, 1.0, 2.0), -1, 1)[..., None]
    pad_px = pad[None, None, :] * (0.92 + 0.06 * residue) + 0.35 * (np.array(DEFAULT_SOLDER) - pad) * (residue > 0.3)
    painted = np.where(pads[..., None], pad_px, painted)
    return composite(clean, painted, mask)


def scratch(clean: np.ndarray, mask: np.ndarray, regions: dict[str, np.ndarray],
            rng: np.random.Generator) -> np.ndarray:
    """A groove: exposed lighter material on dark surfaces, a dark furrow on light ones."""
    m = mask > 0
    img = clean.astype(np.float32)
    luma = float(img[m].mean()) if m.any() else 128.0
    if luma < 128:
        painted = img * 0.25 + np.array([205, 200, 185], np.float32) * 0.75
    else:
        painted = img * 0.40
    # the lit edge of the groove, on the side facing the light
    edge = m & ~(cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    shift = np.roll(np.roll(m, 1, 0), 1, 1)
    painted[edge & ~shift] = np.clip(painted[edge & ~shift] * 1.15 + 20, 0, 255)
    painted += _noise(m.shape, rng, 6.0)[..., None]
    return composite(clean, painted, mask)


def discoloration(clean: np.ndarray, mask: np.ndarray, regions: dict[str, np.ndarray],
                  rng: np.random.Generator) -> np.ndarray:
    """A heat / oxidation stain: a brown tint whose strength is a smooth random field."""
    img = clean.astype(np.float32)
    tint = np.array([168, 112, 44], np.float32) * rng.uniform(0.85, 1.1)
    strength = 0.55 + 0.25 * np.tanh(_noise(mask.shape, rng, 1.0, max(mask.shape) / 16))
    painted = img * (1 - strength[..., None]) + tint * strength[..., None]
    return composite(clean, painted, mask)


SYNTHESIS = {
    "bridge": solder_dome,
    "excess_solder": solder_dome,
    "missing": missing_part,
    "scratch": scratch,
    "discoloration": discoloration,
}


def synthesize_defect(defect_type: str, clean: np.ndarray, mask: np.ndarray,
                      regions: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The clean RGB ROI with ``defect_type`` painted inside ``mask`` (and nowhere else)."""
    if defect_type not in SYNTHESIS:
        raise ValueError(f"no procedural synthesis for defect type {defect_type!r}; "
                         f"choose one of {sorted(SYNTHESIS)}")
    return SYNTHESIS[defect_type](clean, mask, regions, rng)
