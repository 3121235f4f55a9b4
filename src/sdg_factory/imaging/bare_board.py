"""Bare-board AOI: the copper layer of a board as a line-scan camera sees it, and its defects.

A crop of the copper layer is a set of conductors in pixel coordinates (pads as polygons,
traces as polylines with a width, vias as rings around a drilled hole), each on a net. When
the board carries its traces, :func:`layout_from_copper` takes them as they are; otherwise
:func:`route_copper` adds them by simple rules: parallel bus
traces across the crop, then each pad routed to a neighbouring pad (an L with a 45° chamfer),
else to a via a short escape away, else off the crop; every candidate keeps the clearance to
the copper of other nets.

The layer is drawn supersampled into a net-label map, so defects are exact boolean edits:

- ``open``: a band across a trace, removed (the trace is severed);
- ``short``: a copper bridge from a conductor to the nearest conductor of another net;
- ``mousebite``: one to three bites out of a trace edge (the trace stays connected);
- ``spur``: a protrusion from a trace or pad edge into the gap, short of any other copper;
- ``pin_hole``: a small hole inside a pad or a wide trace;
- ``spurious_copper``: an isolated copper blob in the laminate.

An image is a per-pixel function of copper and hole coverage over fixed laminate and copper
textures, so a pair drawn without nuisance differs exactly where a defect changed coverage:
that footprint is the mask, and its bounding box the YOLO box. Nuisance (line-width change,
misregistration, blur, gain, scanner noise) moves the golden image only, so the masks stay
exact in the test image's frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

DEFECT_TYPES = ("open", "short", "mousebite", "spur", "pin_hole", "spurious_copper")

LAMINATE_LEVEL, COPPER_LEVEL, HOLE_LEVEL = 58.0, 196.0, 12.0
BINARY_THRESHOLD = (LAMINATE_LEVEL + COPPER_LEVEL) / 2
_FIX = 16  # fixed-point factor for OpenCV drawing (shift=4)


@dataclass(frozen=True)
class Trace:
    points: np.ndarray  # (K, 2) float pixels (x, y)
    width: float  # pixels
    net: int


@dataclass(frozen=True)
class Via:
    center: tuple[float, float]
    outer: float  # radius, pixels
    drill: float
    net: int


@dataclass
class CopperLayout:
    """The conductors of one crop, in pixels of the crop."""

    shape: tuple[int, int]
    pads: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (polygon (N, 2), net)
    traces: list[Trace] = field(default_factory=list)
    vias: list[Via] = field(default_factory=list)
    holes: list[np.ndarray] = field(default_factory=list)  # drilled holes as polygons (no copper)

    def next_net(self) -> int:
        nets = [n for _, n in self.pads] + [t.net for t in self.traces] + [v.net for v in self.vias]
        return max(nets, default=0) + 1


@dataclass(frozen=True)
class DesignRules:
    """Routing rules, in pixels."""

    trace_width: tuple[float, float]
    clearance: float
    via_outer: float  # radius
    via_drill: float
    bus_traces: tuple[int, int]
    max_route: float


@dataclass(frozen=True)
class Nuisance:
    """Golden-versus-test variation (all zero: pairs differ only inside the masks)."""

    line_width_px: tuple[float, float] = (0.0, 0.0)  # |change of line width|, golden vs test
    shift_px: tuple[float, float] = (0.0, 0.0)  # |misregistration| per axis
    rotation_deg: float = 0.0  # max |rotation|
    blur_sigma_px: float = 0.0
    gain: float = 0.0  # max |relative illumination change|
    noise_sigma: float = 0.0  # scanner noise (grey levels)


@dataclass(frozen=True)
class Defect:
    kind: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive, pixels
    area: int


@dataclass
class BareBoardPair:
    golden: np.ndarray  # uint8 H×W
    image: np.ndarray  # uint8 H×W, with the defects
    mask: np.ndarray  # uint8 H×W, 0/255 union of the defect footprints
    defects: list[Defect]


# --- geometry helpers -----------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 0 else np.array([1.0, 0.0])


def _fix(points: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * scale * _FIX).astype(np.int32).reshape(-1, 1, 2)


def _draw_path(canvas: np.ndarray, points: np.ndarray, width: float, value: int, scale: float = 1.0) -> None:
    cv2.polylines(canvas, [_fix(points, scale)], False, int(value), max(1, int(round(width * scale))),
                  cv2.LINE_8, shift=4)


def _draw_poly(canvas: np.ndarray, polygon: np.ndarray, value: int, scale: float = 1.0) -> None:
    cv2.fillPoly(canvas, [_fix(polygon, scale)], int(value), cv2.LINE_8, shift=4)


def _draw_disc(canvas: np.ndarray, center, radius: float, value: int, scale: float = 1.0) -> None:
    c = tuple(int(round(v * scale * _FIX)) for v in center)
    cv2.circle(canvas, c, max(1, int(round(radius * scale * _FIX))), int(value), -1, cv2.LINE_8, shift=4)


def _rotated_rect(center: np.ndarray, along: np.ndarray, length: float, width: float) -> np.ndarray:
    d = _unit(along)
    n = np.array([-d[1], d[0]])
    return np.array([center + s * d * length / 2 + t * n * width / 2
                     for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


def _collides(label: np.ndarray, allowed: set[int], draw) -> bool:
    """Whether the shape ``draw(canvas)`` paints touches copper of a net outside ``allowed``."""
    canvas = np.zeros(label.shape, np.uint8)
    draw(canvas)
    x, y, w, h = cv2.boundingRect(canvas)
    if w == 0 or h == 0:
        return False
    local = label[y:y + h, x:x + w]
    other = local != 0
    for net in allowed:
        other &= local != net
    return bool(np.any(other & (canvas[y:y + h, x:x + w] != 0)))


# --- the copper layer of a crop -------------------------------------------------------------------


def pads_in_window(polygons_mm: list[np.ndarray], origin_mm: tuple[float, float], px_per_mm: float,
                   shape: tuple[int, int]) -> list[int]:
    """Indices of the board polygons (world mm, x right, y up) that reach the crop whose top-left
    corner is ``origin_mm``; see :func:`to_crop_pixels`.

    The polygons are converted in one array (the same element-wise operations as one
    :func:`to_crop_pixels` each, so the same pixels): a board has thousands, and a window is
    tried up to ``WINDOW_TRIES`` times per item."""
    h, w = shape
    sizes = [len(poly) for poly in polygons_mm]
    if not polygons_mm or min(sizes) == 0 or len({np.asarray(p).dtype for p in polygons_mm}) != 1:
        return [k for k, poly in enumerate(polygons_mm) if _reaches(to_crop_pixels(poly, origin_mm, px_per_mm), w, h)]
    px = to_crop_pixels(np.concatenate(polygons_mm), origin_mm, px_per_mm)
    starts = np.concatenate([[0], np.cumsum(sizes[:-1])])
    lo, hi = np.minimum.reduceat(px, starts, axis=0), np.maximum.reduceat(px, starts, axis=0)
    reaches = (hi[:, 0] >= 0) & (lo[:, 0] < w) & (hi[:, 1] >= 0) & (lo[:, 1] < h)
    return [int(k) for k in np.flatnonzero(reaches)]


def _reaches(px: np.ndarray, w: int, h: int) -> bool:
    return bool(px[:, 0].max() >= 0 and px[:, 0].min() < w and px[:, 1].max() >= 0 and px[:, 1].min() < h)


def to_crop_pixels(polygon_mm: np.ndarray, origin_mm: tuple[float, float], px_per_mm: float) -> np.ndarray:
    """World mm (x right, y up) to crop pixels (columns grow with +x, rows with −y)."""
    x0, y_top = origin_mm
    return np.stack([(polygon_mm[:, 0] - x0) * px_per_mm, (y_top - polygon_mm[:, 1]) * px_per_mm], axis=1)


def elongated_as_trace(polygon: np.ndarray, min_aspect: float = 3.0) -> tuple[np.ndarray, float] | None:
    """A long thin convex polygon (a trace authored as a box) as its centre line and width."""
    (cx, cy), (a, b), angle = cv2.minAreaRect(polygon.astype(np.float32))
    if min(a, b) <= 0 or max(a, b) / min(a, b) < min_aspect:
        return None
    rad = np.deg2rad(angle if a >= b else angle + 90)
    d = np.array([np.cos(rad), np.sin(rad)]) * (max(a, b) - min(a, b)) / 2  # round caps end at the box ends
    c = np.array([cx, cy])
    return np.array([c - d, c + d]), float(min(a, b))


def _l_routes(a: np.ndarray, b: np.ndarray, chamfer_max: float) -> list[np.ndarray]:
    routes = []
    for corner in (np.array([b[0], a[1]]), np.array([a[0], b[1]])):
        l1, l2 = np.hypot(*(corner - a)), np.hypot(*(b - corner))
        if min(l1, l2) < 1:
            routes.append(np.array([a, b]) if max(l1, l2) >= 1 else np.array([a, corner]))
            continue
        c = min(l1, l2, chamfer_max) * 0.5
        routes.append(np.array([a, corner - _unit(corner - a) * c, corner + _unit(b - corner) * c, b]))
    return routes


def _bus(layout: CopperLayout, label: np.ndarray, rng: np.random.Generator, rules: DesignRules) -> None:
    """A group of parallel traces across the crop (one net each), with a 45° jog half the time."""
    h, w = layout.shape
    horizontal = bool(rng.integers(2))
    count = int(rng.integers(rules.bus_traces[0], rules.bus_traces[1] + 1))
    width = float(rng.uniform(*rules.trace_width))
    pitch = width + rules.clearance * float(rng.uniform(1.2, 2.5))
    span, across = (w, h) if horizontal else (h, w)
    start = float(rng.uniform(0.1, 0.9)) * across - pitch * (count - 1) / 2
    jog = float(rng.uniform(-1, 1)) * pitch * 2 if rng.random() < 0.5 else 0.0
    j0 = float(rng.uniform(0.3, 0.6)) * span
    for k in range(count):
        off = start + k * pitch
        pts = [(-10.0, off), (j0, off), (j0 + abs(jog), off + jog), (span + 10.0, off + jog)]
        pts = np.array(pts if horizontal else [(y, x) for x, y in pts])
        net = layout.next_net()
        if _collides(label, {0}, lambda c, pts=pts: _draw_path(c, pts, width + 2 * rules.clearance, 1)):
            continue
        layout.traces.append(Trace(pts, width, net))
        _draw_path(label, pts, width, net)


def route_copper(pads: list[np.ndarray], shape: tuple[int, int], rng: np.random.Generator,
                 rules: DesignRules, groups: list[str] | None = None) -> CopperLayout:
    """Pads, plus traces and vias routed between them by the rules in the module docstring.
    Pads of the same ``groups`` entry (one component's pads) are never joined."""
    groups = list(groups) if groups is not None else [str(k) for k in range(len(pads))]
    layout = CopperLayout(shape)
    label = np.zeros(shape, np.uint16)
    for poly in pads:
        net = layout.next_net()
        layout.pads.append((poly, net))
        _draw_poly(label, poly, net)
    _bus(layout, label, rng, rules)
    order = rng.permutation(len(layout.pads))
    centres = [poly.mean(axis=0) for poly, _ in layout.pads]
    h, w = shape
    for i in order:
        poly, net = layout.pads[i]
        a = centres[i]
        if not (0 <= a[0] < w and 0 <= a[1] < h):
            continue
        width = float(rng.uniform(*rules.trace_width))
        keep = 2 * rules.clearance + width
        candidates = sorted((float(np.hypot(*(centres[j] - a))), j) for j in range(len(layout.pads))
                            if layout.pads[j][1] != net and groups[j] != groups[i])
        routed = False
        for dist, j in candidates[:4]:
            if dist > rules.max_route:
                break
            target = layout.pads[j][1]
            for route in _l_routes(a, centres[j], rules.max_route / 4):
                if not _collides(label, {0, net, target},
                                 lambda c, route=route, keep=keep: _draw_path(c, route, keep, 1)):
                    layout.traces.append(Trace(route, width, net))
                    _draw_path(label, route, width, net)
                    label[label == target] = net  # one net now
                    layout.pads[j] = (layout.pads[j][0], net)
                    layout.traces[:] = [Trace(t.points, t.width, net if t.net == target else t.net)
                                        for t in layout.traces]
                    routed = True
                    break
            if routed:
                break
        if routed or rng.random() < 0.2:
            continue
        for angle in rng.permutation(8) * 45.0:
            d = np.array([np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))])
            end = a + d * float(rng.uniform(0.15, 0.4)) * rules.max_route
            route = np.array([a, end])

            def shape_of(c, route=route, end=end, keep=keep):
                _draw_path(c, route, keep, 1)
                _draw_disc(c, end, rules.via_outer + rules.clearance, 1)

            if not _collides(label, {0, net}, shape_of):
                layout.traces.append(Trace(route, width, net))
                _draw_path(label, route, width, net)
                if 0 <= end[0] < w and 0 <= end[1] < h:
                    layout.vias.append(Via((float(end[0]), float(end[1])), rules.via_outer, rules.via_drill, net))
                    _draw_disc(label, end, rules.via_outer, net)
                break
    return layout


def layout_from_copper(polygons: list[np.ndarray], traces: list[tuple[np.ndarray, float]],
                       holes: list[np.ndarray], shape: tuple[int, int]) -> CopperLayout:
    """A crop of a board whose USD carries its own traces (centre lines with a width) and holes:
    conductors that touch share a net. Long thin polygons count as traces too."""
    union = np.zeros(shape, np.uint8)
    for poly in polygons:
        _draw_poly(union, poly, 1)
    for line, width in traces:
        _draw_path(union, line, width, 1)
    _, components = cv2.connectedComponents(union, connectivity=8)

    def net_of(draw) -> int:
        canvas = np.zeros(shape, np.uint8)
        draw(canvas)
        x, y, w, h = cv2.boundingRect(canvas)  # every drawn pixel: the counts of the whole crop's
        drawn, under = canvas[y:y + h, x:x + w], components[y:y + h, x:x + w]
        under = under[(drawn > 0) & (under > 0)]
        return int(np.bincount(under).argmax()) if under.size else int(components.max()) + 1

    layout = CopperLayout(shape)
    for poly in polygons:
        net = net_of(lambda c, poly=poly: _draw_poly(c, poly, 1))
        layout.pads.append((poly, net))
        trace = elongated_as_trace(poly)
        if trace is not None:
            layout.traces.append(Trace(trace[0], trace[1], net))
    for line, width in traces:
        layout.traces.append(Trace(np.asarray(line, np.float64), float(width),
                                   net_of(lambda c, line=line, width=width: _draw_path(c, line, width, 1))))
    layout.holes = list(holes)
    return layout


def rasterize(layout: CopperLayout, ss: int) -> tuple[np.ndarray, np.ndarray]:
    """Net-label map (uint16, 0 = laminate) and drilled holes (bool), ``ss`` times supersampled."""
    h, w = layout.shape
    label = np.zeros((h * ss, w * ss), np.uint16)
    holes = np.zeros((h * ss, w * ss), np.uint8)
    for poly, net in layout.pads:
        _draw_poly(label, poly, net, ss)
    for trace in layout.traces:
        _draw_path(label, trace.points, trace.width, trace.net, ss)
    for via in layout.vias:
        _draw_disc(label, via.center, via.outer, via.net, ss)
        _draw_disc(holes, via.center, via.drill, 1, ss)
    for poly in layout.holes:
        _draw_poly(holes, poly, 1, ss)
    holes = holes.astype(bool)
    label[holes] = 0
    return label, holes


def coverage(mask_ss: np.ndarray, ss: int) -> np.ndarray:
    """Fraction of each pixel covered (block mean of the supersampled mask)."""
    h, w = mask_ss.shape[0] // ss, mask_ss.shape[1] // ss
    if ss == 1:
        return mask_ss.astype(np.float32)
    return cv2.resize(mask_ss.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)


def _block_any(mask_ss: np.ndarray, ss: int) -> np.ndarray:
    """Pixels with any supersample set (255 / ss² stays above zero under INTER_AREA)."""
    h, w = mask_ss.shape[0] // ss, mask_ss.shape[1] // ss
    if ss == 1:
        return mask_ss.astype(bool)
    return cv2.resize(mask_ss.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA) > 0


# --- defects ----------------------------------------------------------------------------------------


@dataclass
class _Board:
    """The supersampled layer being edited, with its 1× views for placement decisions."""

    label: np.ndarray  # supersampled net labels
    holes: np.ndarray
    ss: int
    layout: CopperLayout
    rules: DesignRules

    def small(self) -> np.ndarray:
        return self.label[self.ss // 2::self.ss, self.ss // 2::self.ss]


def _trace_site(board: _Board, rng: np.random.Generator, min_len_widths: float = 4.0):
    """A point well inside one straight trace segment: (centre, direction, normal, width, net)."""
    h, w = board.layout.shape
    segments = [(t, p, q) for t in board.layout.traces for p, q in zip(t.points[:-1], t.points[1:], strict=False)
                if np.hypot(*(q - p)) >= max(min_len_widths * t.width, 12)]
    if not segments:
        return None
    trace, p, q = segments[int(rng.integers(len(segments)))]
    c = p + (q - p) * float(rng.uniform(0.25, 0.75))
    margin = trace.width + 4
    if not (margin <= c[0] < w - margin and margin <= c[1] < h - margin):
        return None
    d = _unit(q - p)
    if board.small()[int(c[1]), int(c[0])] != trace.net:
        return None
    n = np.array([-d[1], d[0]])
    return c, d, n if rng.random() < 0.5 else -n, trace.width, trace.net


def _pad_site(board: _Board, rng: np.random.Generator):
    """A point on a pad edge with its outward normal: (point, edge direction, normal, size, net)."""
    if not board.layout.pads:
        return None
    poly, net = board.layout.pads[int(rng.integers(len(board.layout.pads)))]
    k = int(rng.integers(len(poly)))
    p, q = poly[k], poly[(k + 1) % len(poly)]
    d = _unit(q - p)
    n = np.array([-d[1], d[0]])
    mid = p + (q - p) * float(rng.uniform(0.3, 0.7))
    if np.dot(n, mid - poly.mean(axis=0)) < 0:
        n = -n
    size = float(np.hypot(*(q - p)))
    return mid - n * 2, d, n, size, net  # a point just inside the pad


def _march(small: np.ndarray, start: np.ndarray, n: np.ndarray, limit: float):
    """First copper pixel from ``start`` along ``n`` (its label and distance), or ``None``."""
    h, w = small.shape
    for step in np.arange(1.0, limit, 0.5):
        x, y = start + n * step
        if not (0 <= x < w and 0 <= y < h):
            return None
        value = int(small[int(y), int(x)])
        if value:
            return value, float(step)
    return None


def _open(board: _Board, rng):
    site = _trace_site(board, rng)
    if site is None:
        return None
    c, d, n, width, net = site
    small = board.small()
    for side in (-1, 1):  # laminate on both sides: the band severs a bare trace, not a pad
        x, y = c + side * n * (width / 2 + 2)
        if not (0 <= x < small.shape[1] and 0 <= y < small.shape[0]) or small[int(y), int(x)] != 0:
            return None
    gap = max(3.0, float(rng.uniform(0.6, 1.5)) * width)
    band = _rotated_rect(c, d, gap, width + 6)
    return "remove", net, lambda canvas, s: _draw_poly(canvas, band, 1, s)


def _mousebite(board: _Board, rng):
    site = _trace_site(board, rng)
    if site is None or site[3] < 6:
        return None
    c, d, n, width, net = site
    r = max(1.5, float(rng.uniform(0.25, 0.42)) * width)
    side = 1 if rng.random() < 0.5 else -1
    bites = [c + side * n * width / 2 + d * k * r * 1.1 for k in range(int(rng.integers(1, 4)))]

    def draw(canvas, s):
        for b in bites:
            _draw_disc(canvas, b, r, 1, s)

    return "remove", net, draw


def _copper_edge(board: _Board, rng, trace_probability: float):
    """A site on a trace (else a pad) and where its own copper ends along the site's normal:
    ``(centre, direction, normal, width, net, edge)``, or ``None`` when the site is unusable."""
    site = _trace_site(board, rng) if rng.random() < trace_probability else _pad_site(board, rng)
    if site is None:
        return None
    c, d, n, width, net = site
    small = board.small()
    h, w = small.shape
    if not (0 <= c[0] < w and 0 <= c[1] < h) or small[int(c[1]), int(c[0])] != net:
        return None
    own = _march(small != net, c, n, 200)  # 1 (True) off its own copper, as int() reads it
    if own is None:
        return None
    return c, d, n, width, net, c + n * (own[1] - 0.5)


def _spur(board: _Board, rng):
    site = _copper_edge(board, rng, 0.7)
    if site is None:
        return None
    _, d, n, width, net, edge = site
    hit = _march(board.small(), edge + n, n, 4 * board.rules.clearance + 20)
    room = hit[1] if hit else 4 * board.rules.clearance
    length = float(rng.uniform(0.3, 0.6)) * room
    if length < 3:
        return None
    base = max(3.0, float(rng.uniform(0.4, 0.9)) * min(width, 20))
    tip_w = base * float(rng.uniform(0.2, 0.6))
    poly = np.array([edge - n * 2 - d * base / 2, edge - n * 2 + d * base / 2,
                     edge + n * length + d * tip_w / 2, edge + n * length - d * tip_w / 2])
    return "add", net, lambda canvas, s: _draw_poly(canvas, poly, 1, s)


def _short(board: _Board, rng):
    site = _copper_edge(board, rng, 0.6)
    if site is None:
        return None
    c, _, n, width, net, edge = site
    # we left our own copper: find the next conductor along the normal
    small = board.small()
    h, w = small.shape
    hit = _march(small, edge, n, 3 * board.rules.clearance + 12)
    if hit is None or hit[0] == net:
        return None
    end = edge + n * (hit[1] + 2)
    ex, ey = end
    if not (0 <= ex < w and 0 <= ey < h) or board.holes[int(ey * board.ss), int(ex * board.ss)]:
        return None
    bridge_w = max(3.0, float(rng.uniform(0.4, 1.0)) * min(width, 16))
    route = np.array([c, end])
    return "add", net, lambda canvas, s: _draw_path(canvas, route, bridge_w, 1, s)


def _pin_hole(board: _Board, rng):
    small = board.small()
    inside = cv2.distanceTransform((small > 0).astype(np.uint8), cv2.DIST_L2, 5)
    r = float(rng.uniform(1.5, 4.0))
    ys, xs = np.nonzero(inside > r + 2.5)
    if not len(xs):
        return None
    k = int(rng.integers(len(xs)))
    c = np.array([xs[k] + 0.5, ys[k] + 0.5])
    net = int(small[ys[k], xs[k]])
    return "remove", net, lambda canvas, s: _draw_disc(canvas, c, r, 1, s)


def _spurious_copper(board: _Board, rng):
    small = board.small()
    free = (small == 0) & ~_block_any(board.holes, board.ss)
    outside = cv2.distanceTransform(free.astype(np.uint8), cv2.DIST_L2, 5)
    radius = float(rng.uniform(3.0, 12.0))
    h, w = small.shape
    ok = outside > radius + board.rules.clearance
    ok[: int(radius) + 2] = ok[-int(radius) - 2:] = False
    ok[:, : int(radius) + 2] = ok[:, -int(radius) - 2:] = False
    ys, xs = np.nonzero(ok)
    if not len(xs):
        return None
    k = int(rng.integers(len(xs)))
    c = np.array([xs[k] + 0.5, ys[k] + 0.5])
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = radius * rng.uniform(0.55, 1.0, 9)
    blob = c + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)
    net = board.layout.next_net() + 1000
    return "add", net, lambda canvas, s: _draw_poly(canvas, blob, 1, s)


_PLACERS = {"open": _open, "short": _short, "mousebite": _mousebite, "spur": _spur, "pin_hole": _pin_hole,
            "spurious_copper": _spurious_copper}


def place_defect(kind: str, board: _Board, taken: np.ndarray, rng: np.random.Generator,
                 tries: int = 40) -> tuple[Defect, np.ndarray] | None:
    """Edit ``board`` with one defect of ``kind`` whose 1× footprint is one 8-connected region,
    inside the crop and apart from the footprints already ``taken``; the footprint, or None."""
    if kind not in _PLACERS:
        raise ValueError(f"unknown bare-board defect type {kind!r}; the types are {', '.join(DEFECT_TYPES)}")
    h, w = board.layout.shape
    ss = board.ss
    apart = cv2.dilate(taken.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    for _ in range(tries):
        proposal = _PLACERS[kind](board, rng)
        if proposal is None:
            continue
        mode, net, draw = proposal
        canvas = np.zeros(board.label.shape, np.uint8)
        draw(canvas, ss)
        x, y, bw, bh = cv2.boundingRect(canvas)
        if bw == 0 or bh == 0:
            continue
        x0, y0 = x // ss * ss, y // ss * ss  # the window on whole pixels
        x1, y1 = -(-(x + bw) // ss) * ss, -(-(y + bh) // ss) * ss
        region = canvas[y0:y1, x0:x1].astype(bool)
        local = board.label[y0:y1, x0:x1]
        changed = region & (local == net) if mode == "remove" else \
            region & (local == 0) & ~board.holes[y0:y1, x0:x1]
        footprint = np.zeros(taken.shape, bool)
        footprint[y0 // ss:y1 // ss, x0 // ss:x1 // ss] = _block_any(changed, ss)
        area = int(footprint.sum())
        if area < 4 or np.any(footprint & apart):
            continue
        ys, xs = np.nonzero(footprint)
        if xs.min() < 1 or ys.min() < 1 or xs.max() > w - 2 or ys.max() > h - 2:
            continue
        if cv2.connectedComponents(footprint.astype(np.uint8), connectivity=8)[0] != 2:
            continue
        local[changed] = 0 if mode == "remove" else net
        return Defect(kind, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())), area), footprint
    return None


# --- the AOI image ------------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance Gaussian-correlated noise; wide kernels are drawn coarse and resized."""
    h, w = shape
    step = max(1, int(sigma // 3))
    coarse = rng.standard_normal((-(-h // step) + 1, -(-w // step) + 1)).astype(np.float32)
    noise = cv2.GaussianBlur(coarse, (0, 0), sigma / step)
    if step > 1:
        noise = cv2.resize(noise, (noise.shape[1] * step, noise.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    noise = noise[:h, :w]
    return (noise - noise.mean()) / max(float(noise.std()), 1e-6)


def textures(rng: np.random.Generator, shape: tuple[int, int], px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Laminate (glass-weave pattern, resin mottling) and copper (grain) grey levels per pixel."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = 0.45 * px_per_mm
    phase = rng.uniform(0, 2 * np.pi, 2)
    weave = np.sin(2 * np.pi * (xx + yy) / period + phase[0]) * np.sin(2 * np.pi * (xx - yy) / period + phase[1])
    laminate = LAMINATE_LEVEL + 5 * weave + 4 * _smooth_noise(rng, shape, 0.3 * px_per_mm)
    copper = COPPER_LEVEL + 7 * _smooth_noise(rng, shape, 0.15 * px_per_mm) + 2 * _smooth_noise(rng, shape, 0.7)
    return laminate.astype(np.float32), copper.astype(np.float32)


def render_aoi(copper_ss: np.ndarray, holes_ss: np.ndarray, ss: int, laminate: np.ndarray,
               copper: np.ndarray) -> np.ndarray:
    """Grey levels (float) of a top-down line-scan view: a per-pixel mix of laminate, copper and
    hole by coverage (so a changed pixel is exactly one whose coverage changed)."""
    c = coverage(copper_ss, ss)
    hole = coverage(holes_ss, ss)
    return laminate * (1 - c - hole) + copper * c + HOLE_LEVEL * hole


def _scanner(image: np.ndarray, rng: np.random.Generator, nuisance: Nuisance) -> np.ndarray:
    """Optics and sensor: blur, illumination gain, per-column gain (line sensor), row flicker, noise."""
    out = image
    if nuisance.blur_sigma_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), nuisance.blur_sigma_px)
    if nuisance.gain > 0:
        out = out * (1 + float(rng.uniform(-nuisance.gain, nuisance.gain)))
    if nuisance.noise_sigma > 0:
        h, w = out.shape
        columns = 1 + 0.01 * rng.standard_normal(w).astype(np.float32)
        rows = 1 + 0.005 * _smooth_noise(rng, (h, 1), 3.0)
        out = out * columns[None, :] * rows + nuisance.noise_sigma * rng.standard_normal(out.shape).astype(np.float32)
    return out


def _signed(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high)) * (1 if rng.random() < 0.5 else -1)


def _golden_copper(copper_ss: np.ndarray, holes_ss: np.ndarray, ss: int, rng, nuisance: Nuisance) -> np.ndarray:
    """The golden board's copper: line widths changed by the nuisance's 1–2 px (both edges)."""
    if nuisance.line_width_px[1] <= 0:
        return copper_ss
    change = _signed(rng, *nuisance.line_width_px)
    k = int(round(abs(change) * ss / 2))
    if k == 0:
        return copper_ss
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    op = cv2.dilate if change > 0 else cv2.erode
    return op(copper_ss.astype(np.uint8), kernel).astype(bool) & ~holes_ss


def _misregister(image: np.ndarray, rng, nuisance: Nuisance) -> np.ndarray:
    if nuisance.shift_px[1] <= 0 and nuisance.rotation_deg <= 0:
        return image
    h, w = image.shape
    angle = float(rng.uniform(-nuisance.rotation_deg, nuisance.rotation_deg))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    matrix[:, 2] += [_signed(rng, *nuisance.shift_px), _signed(rng, *nuisance.shift_px)]
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def to_uint8(image: np.ndarray, binary: bool) -> np.ndarray:
    """Grey levels as uint8, or binarised (copper 255, laminate and holes 0)."""
    if binary:
        return np.where(image > BINARY_THRESHOLD, 255, 0).astype(np.uint8)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def make_pair(layout: CopperLayout, kinds: list[str], rng: np.random.Generator, px_per_mm: float,
              rules: DesignRules, nuisance: Nuisance, ss: int = 4, binary: bool = False,
              parts: tuple[str, ...] = ("golden", "image")) -> BareBoardPair | None:
    """A golden/test pair of one crop with the defects ``kinds`` (the first one required: None when
    it cannot be placed on this layout). ``parts`` names the images to render (geometry and masks
    are always computed)."""
    label, holes = rasterize(layout, ss)
    golden_copper = label > 0
    board = _Board(label, holes, ss, layout, rules)
    taken = np.zeros(layout.shape, bool)
    defects = []
    for index, kind in enumerate(kinds):
        placed = place_defect(kind, board, taken, rng)
        if placed is None:
            if index == 0:
                return None
            continue
        defect, footprint = placed
        defects.append(defect)
        taken |= footprint
    tex_rng, golden_rng, test_rng = (np.random.default_rng(s) for s in rng.integers(0, 2**63, 3))
    golden = image = np.zeros(layout.shape, np.uint8)
    if parts:
        laminate, copper = textures(tex_rng, layout.shape, px_per_mm)
    if "golden" in parts:
        g = render_aoi(_golden_copper(golden_copper, holes, ss, golden_rng, nuisance), holes, ss, laminate, copper)
        golden = to_uint8(_scanner(_misregister(g, golden_rng, nuisance), golden_rng, nuisance), binary)
    if "image" in parts:
        t = render_aoi(board.label > 0, holes, ss, laminate, copper)
        image = to_uint8(_scanner(t, test_rng, nuisance), binary)
    return BareBoardPair(golden, image, np.where(taken, 255, 0).astype(np.uint8), defects)


def yolo_lines(defects: list[Defect], shape: tuple[int, int], classes: tuple[str, ...] = DEFECT_TYPES) -> str:
    """YOLO box lines ``class cx cy w h`` (normalised), one per defect, class index in ``classes``."""
    h, w = shape
    lines = []
    for d in defects:
        x0, y0, x1, y1 = d.box
        lines.append(f"{classes.index(d.kind)} {(x0 + x1 + 1) / 2 / w:.6f} {(y0 + y1 + 1) / 2 / h:.6f} "
                     f"{(x1 - x0 + 1) / w:.6f} {(y1 - y0 + 1) / h:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")
