"""Re-create the shipped sample reference image: a rendered toy robot on a studio backdrop.

``python -m sdg_factory.pipelines.reference_object.samples.make_sample`` writes
``toy_robot.png`` (the reference photo: the object on a grey studio sweep with a soft
shadow, so the white-background step has real work to do) and ``toy_robot_mask.png`` (its
exact object mask, used by the tests to measure the reference-mask maker).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
SIZE = 320


def _rounded_box(h: int, w: int, cy: float, cx: float, hh: float, hw: float, r: float) -> np.ndarray:
    """Signed distance (pixels, negative inside) of a rounded rectangle."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    qx = np.abs(x - cx) - (hw - r)
    qy = np.abs(y - cy) - (hh - r)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0) - r


def _shade(sdf: np.ndarray, colour, light=(-0.5, -0.6, 0.62), bevel: float = 10.0) -> np.ndarray:
    """Lambert shading of a bevelled part: the normal tilts outward near the part's edge."""
    depth = np.clip(-sdf / bevel, 0, 1)
    gy, gx = np.gradient(depth)
    n = np.dstack([-gx * bevel * 0.9, -gy * bevel * 0.9, np.ones_like(depth)])
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    to_light = np.asarray(light, np.float32)
    to_light /= np.linalg.norm(to_light)
    lambert = np.clip(n @ to_light, 0, 1)
    spec = np.clip(n @ (to_light + np.array([0, 0, 1.0])) / np.linalg.norm(to_light + [0, 0, 1.0]), 0, 1) ** 40
    shade = 0.35 + 0.75 * lambert
    rgb = np.asarray(colour, np.float32)[None, None] * shade[..., None] + 90 * spec[..., None]
    return np.clip(rgb, 0, 255)


def render_toy_robot(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, mask)`` of the sample: a blue-bodied, yellow-headed toy robot."""
    h = w = size
    s = size / 320.0
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    # studio sweep: light grey, darker toward the top, warm floor
    backdrop = 200 - 40 * (1 - y / h)[..., None] + np.array([4, 2, 0], np.float32)
    image = np.broadcast_to(backdrop, (h, w, 3)).copy()
    mask = np.zeros((h, w), bool)
    # parts: (sdf, colour) painted back to front
    parts = [
        (_rounded_box(h, w, 252 * s, 128 * s, 38 * s, 10 * s, 8 * s), (40, 44, 52)),      # left leg
        (_rounded_box(h, w, 252 * s, 192 * s, 38 * s, 10 * s, 8 * s), (40, 44, 52)),      # right leg
        (_rounded_box(h, w, 180 * s, 84 * s, 34 * s, 9 * s, 8 * s), (230, 60, 40)),        # left arm
        (_rounded_box(h, w, 180 * s, 236 * s, 34 * s, 9 * s, 8 * s), (230, 60, 40)),       # right arm
        (_rounded_box(h, w, 178 * s, 160 * s, 52 * s, 62 * s, 14 * s), (30, 90, 210)),     # body
        (_rounded_box(h, w, 92 * s, 160 * s, 36 * s, 46 * s, 16 * s), (245, 200, 40)),     # head
        (_rounded_box(h, w, 46 * s, 160 * s, 10 * s, 3 * s, 2 * s), (60, 60, 60)),         # antenna
        (np.hypot(x - 160 * s, y - 34 * s) - 8 * s, (230, 50, 40)),                         # antenna ball
    ]
    # soft contact shadow on the floor first
    shadow = np.exp(-(((x - 162 * s) / (90 * s)) ** 2 + ((y - 292 * s) / (9 * s)) ** 2))
    image *= (1 - 0.45 * shadow)[..., None]
    for sdf, colour in parts:
        inside = sdf < 0
        image[inside] = _shade(sdf, colour)[inside]
        mask |= inside
    # face and chest details (inside the mask: they do not change it)
    for cx in (143, 177):
        eye = np.hypot(x - cx * s, y - 88 * s) < 8 * s
        image[eye] = (20, 20, 28)
        glint = np.hypot(x - (cx - 2) * s, y - 85 * s) < 2.5 * s
        image[glint] = (250, 250, 250)
    mouth = (np.abs(y - 108 * s) < 2.5 * s) & (np.abs(x - 160 * s) < 16 * s)
    image[mouth] = (120, 60, 20)
    panel = _rounded_box(h, w, 172 * s, 160 * s, 18 * s, 30 * s, 5 * s) < 0
    image[panel] = image[panel] * 0.55 + np.array([220, 230, 240]) * 0.45
    for i, colour in enumerate([(40, 220, 90), (250, 210, 40), (230, 60, 40)]):
        led = np.hypot(x - (140 + 20 * i) * s, y - 172 * s) < 5 * s
        image[led] = colour
    rgb = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), 0.6)
    return rgb, (mask * 255).astype(np.uint8)


def main() -> None:
    rgb, mask = render_toy_robot()
    cv2.imwrite(str(HERE / "toy_robot.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    cv2.imwrite(str(HERE / "toy_robot_mask.png"), mask, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print("wrote", HERE / "toy_robot.png")


if __name__ == "__main__":
    main()
