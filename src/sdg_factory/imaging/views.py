"""2.5-D views of a cut-out: the object as a textured card seen by a rotated pinhole camera.

Camera poses use the multi-angle vocabulary (the Qwen multi-angle LoRA's): eight azimuths
(``front``, ``front_right``, ``side_right``, ``back_right``, ``back``, ``back_left``,
``side_left``, ``front_left``), four elevations (``low_angle``, ``eye_level``, ``elevated``,
``high_angle``) and three distances (``close_up``, ``medium``, ``wide``). The card is rotated by
the azimuth about its vertical axis and tilted by the elevation, projected through a pinhole
camera (a homography), and scaled by the distance. Past ±90° the camera sees the card's back:
the texture is mirrored and shaded (a planar object's back is its mirrored silhouette). The
object's mask goes through the same homography, so each view's mask is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

AZIMUTHS = {"front": 0, "front_right": 45, "side_right": 90, "back_right": 135, "back": 180,
            "back_left": -135, "side_left": -90, "front_left": -45}
ELEVATIONS = {"low_angle": -20, "eye_level": 0, "elevated": 25, "high_angle": 50}
DISTANCES = {"close_up": 1.25, "medium": 1.0, "wide": 0.7}


@dataclass(frozen=True)
class ViewSpec:
    view: str = "front"
    elevation: str = "eye_level"
    distance: str = "medium"

    def __post_init__(self) -> None:
        for value, table, key in ((self.view, AZIMUTHS, "view"), (self.elevation, ELEVATIONS, "elevation"),
                                  (self.distance, DISTANCES, "distance")):
            if value not in table:
                raise ValueError(f"perspective {key} {value!r} is not one of {sorted(table)}")

    def name(self, index: int) -> str:
        """``perspective_00_front__eye_level`` (``__close_up`` / ``__wide`` appended when not medium)."""
        base = f"perspective_{index:02d}_{self.view}__{self.elevation}"
        return base if self.distance == "medium" else f"{base}__{self.distance}"

    @property
    def words(self) -> str:
        """The pose in words (``front-right quarter view, elevated shot, medium shot``)."""
        view = {"front": "front view", "back": "back view", "side_right": "right side view",
                "side_left": "left side view"}.get(self.view, self.view.replace("_", "-") + " quarter view")
        elev = {"low_angle": "low-angle shot", "eye_level": "eye-level shot", "elevated": "elevated shot",
                "high_angle": "high-angle shot"}[self.elevation]
        dist = {"close_up": "close-up", "medium": "medium shot", "wide": "wide shot"}[self.distance]
        return f"{view} {elev} {dist}"


def parse_views(items: list) -> list[ViewSpec]:
    """Views from parameters: ``{view, elevation, distance}`` dicts or ``"front/eye_level"`` strings."""
    specs = []
    for item in items:
        if isinstance(item, str):
            parts = item.split("/")
            item = dict(zip(("view", "elevation", "distance"), parts, strict=False))
        specs.append(ViewSpec(**item))
    if not specs:
        raise ValueError("parameter 'perspectives.views' is empty: list at least one view")
    return specs


def card_homography(size: tuple[int, int], azimuth: float, elevation: float, scale: float,
                    focal: float = 2.2) -> np.ndarray:
    """Homography taking the card's pixels to the view's pixels (same image size, centred)."""
    w, h = size
    f = focal * max(w, h)
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], np.float64)
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    r = rx @ ry
    distance = f / scale
    # card points (u - w/2, v - h/2, 0) -> camera: R p + (0, 0, distance)
    m = k @ np.column_stack([r[:, 0], r[:, 1], [0, 0, distance]])
    shift = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1]], np.float64)
    hmat = m @ shift
    return hmat / hmat[2, 2]


def render_view(image: np.ndarray, mask: np.ndarray, spec: ViewSpec,
                fill: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """The object's view on white and its exact mask (uint8 0/255), object centred, ``fill`` of the frame."""
    h, w = mask.shape[:2]
    binary = (mask > 0).astype(np.uint8)
    azimuth = AZIMUTHS[spec.view]
    back = abs(azimuth) > 90
    tex = image[..., :3]
    if back:  # the card's back: mirrored, in shade
        tex = cv2.flip(tex, 1)
        binary = cv2.flip(binary, 1)
        azimuth = azimuth - 180 if azimuth > 0 else azimuth + 180
        tex = np.clip(tex.astype(np.float32) * 0.72, 0, 255).astype(np.uint8)
    # a quarter/side view of a flat card is a sliver: keep a little thickness of a real object
    azimuth = float(np.clip(azimuth, -72, 72))
    hmat = card_homography((w, h), azimuth, ELEVATIONS[spec.elevation], 1.0)
    warped = cv2.warpPerspective(tex, hmat, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    wmask = cv2.warpPerspective(binary * 255, hmat, (w, h), flags=cv2.INTER_LINEAR, borderValue=0) >= 128
    # light falls off across a turned card (Lambert on its normal)
    shade = 0.8 + 0.2 * np.cos(np.deg2rad(azimuth))
    warped = np.clip(warped.astype(np.float32) * shade, 0, 255).astype(np.uint8)
    # frame: centre the object, its larger side `fill × distance` of the frame
    ys, xs = np.nonzero(wmask)
    if len(ys) == 0:
        raise ValueError(f"view {spec} left nothing of the object in frame")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    s = min(fill * DISTANCES[spec.distance] * min(w, h) / max(y1 - y0, x1 - x0), 4.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    affine = np.array([[s, 0, w / 2 - s * cx], [0, s, h / 2 - s * cy]], np.float64)
    out = cv2.warpAffine(warped, affine, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    out_mask = cv2.warpAffine(wmask.astype(np.uint8) * 255, affine, (w, h), flags=cv2.INTER_LINEAR) >= 128
    out[~out_mask] = 255
    return out, (out_mask * 255).astype(np.uint8)
