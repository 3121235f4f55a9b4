"""Where a texture defect goes: placement masks from a ROI's CAD (semantic) mask.

Every function here is plain numpy/OpenCV over boolean region masks of one ROI. The regions
come from the colourised ``cad_mask`` through :func:`semantic_regions`:

- ``body``      the component body (the ROI's anchor classes: capacitor, resistor, ic, …);
- ``terminal``, ``solder``, ``pad``, ``pin``  the conductor classes;
- ``board``     the bare board (``pcb``) and ``silkscreen``.

A placement is a ``uint8`` mask (0/255) of the pixels the defect changes. The raw dataset's
sub-masks (``raw/<MATERIAL>/mask/<defect>/NNNN.png``) shape it: they are warped (scaled,
rotated, moved) onto the part of the ROI the defect type belongs to:

- ``bridge``        a strip across the gap between two adjacent conductor groups (pad /
                    solder / pin / terminal), touching both, one connected component;
- ``excess_solder`` grows from a solder (or terminal; pin/pad on ICs) region;
- ``missing``       covers the component body and its terminals / pins (and their solder);
- ``scratch``, ``discoloration``  land on the body or on the board.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from sdg_factory.imaging.semantic_colors import class_masks, split_classes

CONDUCTOR_CLASSES = ("terminal", "solder", "pad", "pin")
BOARD_CLASSES = ("pcb", "silkscreen")
IGNORED_CLASSES = ("BACKGROUND", "UNLABELLED")
DEFECT_TYPES = ("bridge", "excess_solder", "missing", "scratch", "discoloration")


class PlacementError(ValueError):
    """The ROI has none of the regions a defect type needs (e.g. a bridge needs two pads)."""


# ---- regions ---------------------------------------------------------------------------------
def semantic_regions(cad_mask: np.ndarray, labels: dict[str, dict]) -> dict[str, np.ndarray]:
    """Boolean ``body``/``terminal``/``solder``/``pad``/``pin``/``board`` masks of one ROI.

    ``labels`` is the crop's ``semantic_segmentation_labels.json``; every class that is not a
    conductor, board or background class counts as component body.
    """
    every = {c for entry in labels.values() for c in split_classes(entry.get("class", ""))}
    masks = class_masks(cad_mask, labels, every - set(IGNORED_CLASSES))
    empty = np.zeros(cad_mask.shape[:2], bool)
    regions = {name: masks.get(name, empty).copy() for name in CONDUCTOR_CLASSES}
    regions["board"] = np.logical_or.reduce([masks.get(c, empty) for c in BOARD_CLASSES])
    body_classes = every - set(CONDUCTOR_CLASSES) - set(BOARD_CLASSES) - set(IGNORED_CLASSES)
    regions["body"] = np.logical_or.reduce([empty] + [masks.get(c, empty) for c in body_classes])
    # a pixel listed under several classes belongs to the conductor, not the body
    regions["body"] &= ~np.logical_or.reduce([regions[c] for c in CONDUCTOR_CLASSES])
    return regions


def conductor(regions: dict[str, np.ndarray]) -> np.ndarray:
    return np.logical_or.reduce([regions[c] for c in CONDUCTOR_CLASSES])


def components(mask: np.ndarray, min_area: int = 1) -> list[np.ndarray]:
    """8-connected components of ``mask`` with at least ``min_area`` pixels, largest first."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    keep.sort(key=lambda i: -stats[i, cv2.CC_STAT_AREA])
    return [lab == i for i in keep]


def main_body(regions: dict[str, np.ndarray]) -> np.ndarray:
    """The ROI's own component body: the largest body component."""
    parts = components(regions["body"])
    if not parts:
        raise PlacementError("the CAD mask has no component body class")
    return parts[0]


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def footprint(regions: dict[str, np.ndarray]) -> np.ndarray:
    """Body plus the terminals / pins / solder attached to it (what a missing part removes)."""
    body = main_body(regions)
    attached = regions["terminal"] | regions["solder"] | regions["pin"]
    near = _dilate(body, 3)
    out = body.copy()
    for part in components(attached):
        if (part & near).any():
            out |= part
    # pins reach the body through their shoulders; solder sits on terminals: grow once more
    near = _dilate(out, 2)
    for part in components(attached):
        if (part & near).any():
            out |= part
    return out


def mask_stats(mask: np.ndarray) -> tuple[list[int], int]:
    """``(bbox_xyxy inclusive, area)`` of a binary mask, as the labels record them."""
    ys, xs = np.nonzero(np.asarray(mask) > 0)
    if xs.size == 0:
        return [0, 0, -1, -1], 0
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())], int(xs.size)


# ---- sub-mask warping -------------------------------------------------------------------------
def _submask_box(submask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(submask > 127)
    if xs.size == 0:
        h, w = submask.shape[:2]
        return w / 2, h / 2, float(w), float(h)
    return ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2,
            float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))


def warp_submask(submask: np.ndarray, shape: tuple[int, int], center: tuple[float, float],
                 length: float, width: float, angle: float) -> np.ndarray:
    """Fit the sub-mask's shape (its bounding box) to ``length``×``width`` pixels, rotated by
    ``angle`` (radians, along its x axis) and centred at ``center`` (x, y) in an image of
    ``shape``. Returns a boolean mask; blank sub-masks give a filled ellipse."""
    sub = np.asarray(submask)
    if sub.ndim == 3:
        sub = sub[..., 0]
    if not (sub > 127).any():
        sub = np.zeros((64, 64), np.uint8)
        cv2.ellipse(sub, (32, 32), (30, 12), 0, 0, 360, 255, -1)
    cx, cy, bw, bh = _submask_box(sub)
    sx, sy = max(length, 1.0) / bw, max(width, 1.0) / bh
    cos, sin = math.cos(angle), math.sin(angle)
    # dst = T(center) · R(angle) · S(sx, sy) · T(-c)
    a = np.array([[cos * sx, -sin * sy], [sin * sx, cos * sy]])
    t = np.array(center) - a @ np.array([cx, cy])
    matrix = np.hstack([a, t[:, None]]).astype(np.float64)
    warped = cv2.warpAffine(sub.astype(np.uint8), matrix, (shape[1], shape[0]),
                            flags=cv2.INTER_LINEAR, borderValue=0)
    return warped >= 96


def _keep_component_with(mask: np.ndarray, seed_mask: np.ndarray) -> np.ndarray:
    n, lab = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    ids = set(np.unique(lab[seed_mask & mask])) - {0}
    return np.isin(lab, list(ids)) if ids else np.zeros_like(mask)


def _random_point(region: np.ndarray, rng: np.random.Generator, inset: int = 0) -> tuple[float, float]:
    inner = cv2.erode(region.astype(np.uint8), np.ones((2 * inset + 1,) * 2, np.uint8)) > 0 if inset else region
    ys, xs = np.nonzero(inner if inner.any() else region)
    k = int(rng.integers(xs.size))
    return float(xs[k]), float(ys[k])


def _extent(region: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(region)
    return float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)


# ---- placements --------------------------------------------------------------------------------
def adjacent_pairs(groups: list[np.ndarray], slack: float = 1.5) -> list[tuple[int, int, float]]:
    """Pairs of conductor groups separated by a gap no wider than ``slack`` × the nearest
    neighbour gap of either: ``(i, j, gap_px)``."""
    dists = [cv2.distanceTransform((~g).astype(np.uint8), cv2.DIST_L2, 5) for g in groups]
    gap = np.full((len(groups), len(groups)), np.inf)
    for i in range(len(groups)):
        for j in range(len(groups)):
            if i != j:
                gap[i, j] = float(dists[i][groups[j]].min())
    nearest = gap.min(axis=1)
    pairs = []
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            if gap[i, j] <= slack * min(nearest[i], nearest[j]) + 1:
                pairs.append((i, j, float(gap[i, j])))
    return pairs


def _thickness(group: np.ndarray) -> float:
    inside = cv2.distanceTransform(np.pad(group, 1).astype(np.uint8), cv2.DIST_L2, 5)
    return 2.0 * float(inside.max())


def place_bridge(regions: dict[str, np.ndarray], submask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A solder strip across the gap between two adjacent conductor groups, touching both."""
    groups = components(conductor(regions), min_area=4)
    if len(groups) < 2:
        raise PlacementError("a bridge needs two separate pad/solder/pin/terminal groups; the ROI has "
                             f"{len(groups)}")
    pairs = adjacent_pairs(groups)
    i, j, _ = pairs[int(rng.integers(len(pairs)))]
    a, b = groups[i], groups[j]
    dist_a = cv2.distanceTransform((~a).astype(np.uint8), cv2.DIST_L2, 5)
    ys, xs = np.nonzero(b)
    d = dist_a[ys, xs]
    near = d <= d.min() + 1.5  # the facing edge of b; cross it in its middle, not at a corner
    cx, cy = xs[near].mean(), ys[near].mean()
    k = int(np.argmin(np.where(near, (xs - cx) ** 2 + (ys - cy) ** 2, np.inf)))
    pb = np.array([xs[k], ys[k]], float)
    ys, xs = np.nonzero(a)
    k = int(np.argmin((xs - pb[0]) ** 2 + (ys - pb[1]) ** 2))
    pa = np.array([xs[k], ys[k]], float)
    direction = pb - pa
    gap = float(np.hypot(*direction))
    unit = direction / gap if gap > 0 else np.array([1.0, 0.0])
    width = max(3.0, rng.uniform(0.6, 0.9) * min(_thickness(a), _thickness(b)))
    reach = max(2.0, width / 2)
    shaped = warp_submask(submask, a.shape, tuple((pa + pb) / 2), gap + 2 * reach, width * 1.25,
                          math.atan2(unit[1], unit[0]))
    core = np.zeros(a.shape, np.uint8)
    p0, p1 = pa - unit * reach, pb + unit * reach
    cv2.line(core, tuple(int(round(v)) for v in p0), tuple(int(round(v)) for v in p1), 1,
             thickness=max(2, int(round(width / 2))))
    core = core > 0
    mask = _keep_component_with(shaped | core, core)
    if not ((mask & a).any() and (mask & b).any()):  # pragma: no cover - the core passes through pa, pb
        raise PlacementError("the bridge strip does not reach both groups")
    return mask.astype(np.uint8) * 255


def place_excess_solder(regions: dict[str, np.ndarray], submask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A blob of extra solder grown from one solder (or terminal; pin/pad on ICs) region."""
    sources = regions["solder"] | regions["terminal"]
    if not sources.any():
        sources = regions["pin"] | regions["pad"]
    groups = components(sources, min_area=4)
    if not groups:
        raise PlacementError("excess solder needs a solder, terminal, pin or pad region")
    areas = np.array([g.sum() for g in groups], float)
    group = groups[int(rng.choice(len(groups), p=areas / areas.sum()))]
    gw, gh = _extent(group)
    ys, xs = np.nonzero(group)
    center = np.array([xs.mean(), ys.mean()])
    body = regions["body"]
    if body.any():  # grow outwards, away from the body
        by, bx = np.nonzero(body)
        away = center - np.array([bx.mean(), by.mean()])
        norm = float(np.hypot(*away))
        if norm > 0:
            center = center + away / norm * 0.25 * min(gw, gh)
    scale = rng.uniform(1.2, 1.6)
    angle = 0.0 if gw >= gh else math.pi / 2
    blob = warp_submask(submask, group.shape, tuple(center), max(gw, gh) * scale, min(gw, gh) * scale + 2,
                        angle + rng.uniform(-0.2, 0.2))
    mask = (blob | group) & ~body
    mask = _keep_component_with(mask, group)
    return mask.astype(np.uint8) * 255


def place_missing(regions: dict[str, np.ndarray], submask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The component's footprint (body, terminals or pins, their solder), grown by a pixel so no
    rim of the removed part survives. The footprint is the shape here; the sub-mask is unused."""
    return _dilate(footprint(regions), 1).astype(np.uint8) * 255


def _surface(regions: dict[str, np.ndarray], rng: np.random.Generator, min_pixels: int = 30) -> np.ndarray:
    """Body (more often) or bare board: where scratches and discolouration land."""
    try:
        body = main_body(regions)
    except PlacementError:
        body = np.zeros_like(regions["board"])
    choices = [r for r in (body, regions["board"]) if r.sum() >= min_pixels]
    if not choices:
        raise PlacementError("no body or board surface large enough for a texture defect")
    if len(choices) == 2:
        return choices[0] if rng.random() < 0.6 else choices[1]
    return choices[0]


def place_scratch(regions: dict[str, np.ndarray], submask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A scratch line (the sub-mask's stroke) across part of the body or the board."""
    for _ in range(8):
        surface = _surface(regions, rng)
        w, h = _extent(surface)
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(0.45, 0.85) * (abs(w * math.cos(angle)) + abs(h * math.sin(angle)))
        _, _, bw, bh = _submask_box(np.asarray(submask))
        width = max(2.0, length * bh / max(bw, 1.0))
        center = _random_point(surface, rng, inset=2)
        mask = warp_submask(submask, surface.shape, center, length, width, angle) & surface
        parts = components(mask)
        if parts and parts[0].sum() >= 6:
            return parts[0].astype(np.uint8) * 255
    raise PlacementError("could not fit a scratch on the body or board of this ROI")


def place_discoloration(regions: dict[str, np.ndarray], submask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A blotch (the sub-mask's blob) on the body or the board."""
    for _ in range(8):
        surface = _surface(regions, rng)
        w, h = _extent(surface)
        size = rng.uniform(0.3, 0.6) * min(w, h)
        center = _random_point(surface, rng, inset=int(size / 4))
        mask = warp_submask(submask, surface.shape, center, size * rng.uniform(1.0, 1.6), size,
                            rng.uniform(0, math.pi)) & surface
        parts = components(mask)
        if parts and parts[0].sum() >= 12:
            return parts[0].astype(np.uint8) * 255
    raise PlacementError("could not fit a discolouration on the body or board of this ROI")


PLACEMENTS = {
    "bridge": place_bridge,
    "excess_solder": place_excess_solder,
    "missing": place_missing,
    "scratch": place_scratch,
    "discoloration": place_discoloration,
}


def place_defect(defect_type: str, regions: dict[str, np.ndarray], submask: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """The placement mask (``uint8`` 0/255) of ``defect_type`` on a ROI."""
    if defect_type not in PLACEMENTS:
        raise PlacementError(f"unknown defect type {defect_type!r}; choose one of {sorted(PLACEMENTS)}")
    mask = PLACEMENTS[defect_type](regions, submask, rng)
    if not mask.any():
        raise PlacementError(f"the {defect_type} placement came out empty")
    return mask
