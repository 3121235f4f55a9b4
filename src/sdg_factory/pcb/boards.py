"""The two demo boards of the documents, authored as USD stages with usd-core.

Both boards are assemblies: ICs (SOIC and QFP packages with gull-wing pins) and passives
(0402 / 0603 / 0805 chip capacitors and resistors) placed cell by cell on the design scan grid
by simple rules (courtyards kept apart and inside their cell, no overlaps), with copper traces
routed between their pads and vias (:func:`route_cell`). Each board is a real USD stage: a
solder-mask substrate, copper pads, traces (``trace``) and vias (``via``), solder fillets,
silkscreen, component bodies and terminals, every geometry prim marked with its material
(``sdg:material``, ``primvars:displayColor``). ``0603_H100`` labels
its prims with Replicator-style semantics attributes; ``1152819000`` carries none and is
labelled by the ``semantics:`` prim-path globs of its ``day0_image.yaml``, as the documents'
Kit flow does with mesh-level semantics inlined into the cookbook.

Units are millimetres (``metersPerUnit = 0.001``), Z up, board top surface at ``z = 0``.
Layouts are deterministic from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom

SEMANTIC_TYPE_ATTR = "semantic:Semantics:params:semanticType"
CENTERLINE_ATTR = "sdg:centerline"  # a trace's centre line (world mm), as the layout routed it
WIDTH_ATTR = "sdg:width_mm"
TRACE_TOP = 0.018  # traces sit below the pads' tops (0.035) and the silkscreen (0.02)
SEMANTIC_DATA_ATTR = "semantic:Semantics:params:semanticData"
MATERIAL_ATTR = "sdg:material"

# albedo (linear-ish sRGB 0..1) of each material the renderer knows
MATERIAL_COLORS = {
    "soldermask": (0.10, 0.36, 0.16),
    "copper": (0.83, 0.66, 0.30),  # ENIG-finished pads look gold
    "solder": (0.74, 0.75, 0.77),
    "silkscreen": (0.93, 0.93, 0.90),
    "ceramic": (0.62, 0.50, 0.36),
    "resistor_coat": (0.08, 0.08, 0.09),
    "tin": (0.80, 0.80, 0.82),
    "plastic": (0.12, 0.12, 0.13),
    "hole": (0.03, 0.03, 0.03),  # a via's drilled hole
}


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in a component's frame: centre, size, material, semantic class."""

    name: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    material: str
    label: str
    rotate_xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Wedge:
    """A solder fillet: a triangular prism rising from the pad toward a terminal face."""

    name: str
    x0: float  # outer edge on the pad (height 0)
    x1: float  # inner edge at the terminal (height ``height``)
    y_half: float
    z0: float
    height: float
    material: str = "solder"
    label: str = "solder"


# --- component footprints ---------------------------------------------------------------


def _rotate(x: float, y: float, degrees: float) -> tuple[float, float]:
    rad = np.deg2rad(degrees)
    return float(x * np.cos(rad) - y * np.sin(rad)), float(x * np.sin(rad) + y * np.cos(rad))


# per chip size: body length, width, height (capacitor, resistor), terminal length, pad length,
# pad width, pad centre offset (mm; IPC-style land patterns)
CHIP_SIZES = {
    "0402": (1.0, 0.5, 0.5, 0.35, 0.2, 0.55, 0.6, 0.5),
    "0603": (1.6, 0.8, 0.8, 0.45, 0.3, 0.9, 0.95, 0.8),
    "0805": (2.0, 1.25, 0.85, 0.5, 0.4, 1.0, 1.35, 1.0),
}


def chip(kind: str, size: str = "0603") -> list[Box | Wedge]:
    """A chip capacitor or resistor (``size`` 0402 / 0603 / 0805) on its two pads, with fillets."""
    length, width, cap_h, res_h, term, pad_len, pad_w, pad_c = CHIP_SIZES[size]
    height = cap_h if kind == "capacitor" else res_h
    z0 = 0.06
    parts: list[Box | Wedge] = []
    for side, sign in (("0", -1), ("1", 1)):
        parts.append(Box(f"Pad_{side}", (sign * pad_c, 0, 0.0175), (pad_len, pad_w, 0.035), "copper", "pad"))
        parts.append(
            Box(f"Terminal_{side}", (sign * (length - term) / 2, 0, z0 + height / 2),
                (term, width * 1.02, height * 1.02), "tin", "terminal")
        )
        outer, inner = sign * (pad_c + pad_len / 2 - 0.05), sign * length / 2
        parts.append(Wedge(f"Solder_{side}", outer, inner, pad_w * 0.42, 0.035, height * 0.55))
    body_material = "ceramic" if kind == "capacitor" else "resistor_coat"
    parts.append(Box("Body", (0, 0, z0 + height / 2), (length - 2 * term, width, height), body_material, kind))
    return parts


def chip_0603(kind: str) -> list[Box | Wedge]:
    """A 0603 (1.6 × 0.8 mm) chip capacitor or resistor on its two pads, with fillets."""
    return chip(kind, "0603")


def ic_package(pins_per_side: int, body: tuple[float, float], pitch: float, quad: bool) -> list[Box | Wedge]:
    """An IC: plastic body, gull-wing pins (shoulder tilted down to a foot) on pads, fillets."""
    bx, by = body
    z0, height = 0.1, 1.4
    parts: list[Box | Wedge] = [Box("Body", (0, 0, z0 + height / 2), (bx, by, height), "plastic", "ic")]
    parts.append(Box("Pin1Mark", (-bx / 2 + 0.6, by / 2 - 0.6, z0 + height + 0.005), (0.5, 0.5, 0.01),
                     "silkscreen", "ic"))
    # per side: rotation of the pin frame (outward = -y for "S") and the shoulder's tilt
    sides = {"S": (0, (35.0, 0.0, 0.0)), "N": (180, (-35.0, 0.0, 0.0))}
    if quad:
        sides.update({"E": (90, (0.0, -35.0, 0.0)), "W": (270, (0.0, 35.0, 0.0))})
    for side, (angle, tilt) in sides.items():
        reach = by / 2 if side in ("S", "N") else bx / 2
        along_y = side in ("S", "N")
        for k in range(pins_per_side):
            offset = (k - (pins_per_side - 1) / 2) * pitch
            name = f"{side}{k:02d}"
            parts.append(Box(f"Pad_{name}", (*_rotate(offset, -(reach + 0.95), angle), 0.0175),
                             (0.42, 1.3, 0.035) if along_y else (1.3, 0.42, 0.035), "copper", "pad"))
            parts.append(Box(f"Foot_{name}", (*_rotate(offset, -(reach + 0.9), angle), 0.11),
                             (0.3, 0.6, 0.15) if along_y else (0.6, 0.3, 0.15), "tin", "pin"))
            parts.append(Box(f"Shoulder_{name}", (*_rotate(offset, -(reach + 0.35), angle), 0.45),
                             (0.3, 0.75, 0.12) if along_y else (0.75, 0.3, 0.12), "tin", "pin", tilt))
    return parts


# --- layouts ----------------------------------------------------------------------------

IC_KINDS = ("soic8", "soic14", "qfp32")
PASSIVE_FAMILIES = ("capacitor", "resistor")


@dataclass(frozen=True)
class Placement:
    name: str
    kind: str  # capacitor[_0402|_0603|_0805] | resistor[_…] | soic8 | soic14 | qfp32
    x: float
    y: float
    rot_z: float
    cell: tuple[int, int] = (0, 0)  # design-grid cell (i along +x, j along +y)


def _chip_kind(kind: str) -> tuple[str, str] | None:
    family, _, size = kind.partition("_")
    if family in PASSIVE_FAMILIES and (size or "0603") in CHIP_SIZES:
        return family, size or "0603"
    return None


def footprint(kind: str) -> list[Box | Wedge]:
    chip_kind = _chip_kind(kind)
    if chip_kind:
        return chip(*chip_kind)
    if kind == "soic8":
        return ic_package(4, (4.9, 3.9), 1.27, quad=False)
    if kind == "soic14":
        return ic_package(7, (8.6, 3.9), 1.27, quad=False)
    if kind == "qfp32":
        return ic_package(8, (7.0, 7.0), 0.8, quad=True)
    raise ValueError(f"unknown component kind {kind!r} in pcba_setup.boards.<board>.layout "
                     "(parameters_pcba.yml); use capacitor, resistor (0603), capacitor_0402, resistor_0805 (sizes "
                     "0402, 0603, 0805), soic8, soic14 or qfp32")


def _extent(parts: list[Box | Wedge]) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for part in parts:
        if isinstance(part, Box):
            xs += [part.center[0] - part.size[0] / 2, part.center[0] + part.size[0] / 2]
            ys += [part.center[1] - part.size[1] / 2, part.center[1] + part.size[1] / 2]
    return min(xs), max(xs), min(ys), max(ys)


def courtyard(kind: str, x: float, y: float, rot_z: float, margin: float) -> tuple[float, float, float, float]:
    """The footprint's box grown by ``margin`` (the silkscreen outline lies inside it), world mm."""
    x0, x1, y0, y1 = _extent(footprint(kind))
    corners = [_rotate(cx, cy, rot_z) for cx in (x0, x1) for cy in (y0, y1)]
    return (min(c[0] for c in corners) + x - margin, max(c[0] for c in corners) + x + margin,
            min(c[1] for c in corners) + y - margin, max(c[1] for c in corners) + y + margin)


def _overlaps(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _prefix(kind: str) -> str:
    chip_kind = _chip_kind(kind)
    return {"capacitor": "C", "resistor": "R"}[chip_kind[0]] if chip_kind else "U"


def layout(board: str, spec: dict, seed: int) -> list[Placement]:
    """Components placed cell by cell on the design grid: an IC in every other cell (a
    checkerboard, when ``ics`` is not empty), and passives beside it or on their own; every
    courtyard stays inside its cell and clear of the others (rejection sampling)."""
    rng = np.random.default_rng(seed)
    width, height = spec["size_mm"]
    nx, ny = spec["design_grid"]
    ics, passives = list(spec.get("ics") or []), list(spec.get("passives") or [])
    for kind in ics + passives:
        footprint(kind)  # an unknown kind is an error naming the key
    low, high = spec.get("passives_per_cell", [2, 4])
    margin = float(spec.get("courtyard_mm", 0.5))
    rotations = spec.get("rotations", [0, 90])
    tile_w, tile_h = width / nx, height / ny
    placements: list[Placement] = []
    for j in range(ny):
        for i in range(nx):
            x0, y0 = i * tile_w - width / 2, j * tile_h - height / 2
            cell = (x0, x0 + tile_w, y0, y0 + tile_h)
            taken: list[tuple] = []
            wanted = ([ics[int(rng.integers(len(ics)))]] if ics and (i + j) % 2 == 0 else [])
            wanted += [passives[int(rng.integers(len(passives)))] for _ in range(int(rng.integers(low, high + 1)))
                       if passives]
            for kind in wanted:
                for _ in range(40):
                    rot = float(rng.choice(rotations))
                    box = courtyard(kind, 0.0, 0.0, rot, margin)
                    free_x = (cell[0] - box[0], cell[1] - box[1])
                    free_y = (cell[2] - box[2], cell[3] - box[3])
                    if free_x[0] > free_x[1] or free_y[0] > free_y[1]:
                        continue
                    x, y = float(rng.uniform(*free_x)), float(rng.uniform(*free_y))
                    box = courtyard(kind, x, y, rot, margin)
                    if any(_overlaps(box, other) for other in taken):
                        continue
                    taken.append(box)
                    placements.append(Placement(f"{_prefix(kind)}{len(placements) + 1:03d}", kind, x, y, rot, (i, j)))
                    break
    return placements


def pad_outlines(place: Placement) -> list[np.ndarray]:
    """The copper pads of a placed component as world-mm rectangles (4 × 2 corners)."""
    out = []
    for part in footprint(place.kind):
        if isinstance(part, Box) and part.material == "copper":
            (cx, cy, _), (sx, sy, _) = part.center, part.size
            corners = [(cx + dx * sx / 2, cy + dy * sy / 2) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            out.append(np.array([np.add(_rotate(px, py, place.rot_z), (place.x, place.y)) for px, py in corners]))
    return out


@dataclass(frozen=True)
class Copper:
    """Routed copper in world mm: traces ``(centre line (K, 2), width)`` and vias ``(x, y)``."""

    traces: list[tuple[np.ndarray, float]]
    vias: list[tuple[float, float]]


def route_cell(placements: list[Placement], cell: tuple[float, float, float, float], routing: dict,
               rng: np.random.Generator) -> Copper:
    """Traces between the pads of one design cell (and vias where a pad escapes), by the rules
    of :func:`sdg_factory.imaging.bare_board.route_copper` on a raster of the cell."""
    from sdg_factory.imaging.bare_board import DesignRules, route_copper

    ppm = float(routing.get("raster_px_per_mm", 20))
    x0, x1, y0, y1 = cell
    shape = (int(np.ceil((y1 - y0) * ppm)), int(np.ceil((x1 - x0) * ppm)))
    pads, groups = [], []
    for place in placements:
        for outline in pad_outlines(place):
            pads.append(np.stack([(outline[:, 0] - x0) * ppm, (y1 - outline[:, 1]) * ppm], axis=1))
            groups.append(place.name)
    width = [float(v) * ppm for v in routing.get("trace_width_mm", [0.15, 0.25])]
    rules = DesignRules((width[0], width[1]), float(routing.get("clearance_mm", 0.2)) * ppm,
                        float(routing.get("via_outer_mm", 0.6)) / 2 * ppm,
                        float(routing.get("via_drill_mm", 0.3)) / 2 * ppm,
                        (0, 0), float(routing.get("max_route_mm", 6.0)) * ppm)
    routed = route_copper(pads, shape, rng, rules, groups)

    def world(p):
        return float(x0 + p[0] / ppm), float(y1 - p[1] / ppm)

    traces = []
    h, w = shape
    for trace in routed.traces:
        if not ((trace.points >= 0).all() and (trace.points[:, 0] < w).all() and (trace.points[:, 1] < h).all()):
            continue  # an escape that leaves the cell: the neighbouring cell's parts are not known here
        traces.append((np.array([world(p) for p in trace.points]), trace.width / ppm))
    return Copper(traces, [world(v.center) for v in routed.vias])


# --- USD authoring ----------------------------------------------------------------------


def _material(prim: Usd.Prim, material: str) -> None:
    prim.CreateAttribute(MATERIAL_ATTR, Sdf.ValueTypeNames.Token).Set(material)
    UsdGeom.Gprim(prim).CreateDisplayColorAttr([Gf.Vec3f(*MATERIAL_COLORS[material])])


def _semantics(prim: Usd.Prim, label: str) -> None:
    prim.CreateAttribute(SEMANTIC_TYPE_ATTR, Sdf.ValueTypeNames.String).Set("class")
    prim.CreateAttribute(SEMANTIC_DATA_ATTR, Sdf.ValueTypeNames.String).Set(label)


def _cube(stage: Usd.Stage, path: str, center, size, rotate=(0.0, 0.0, 0.0)) -> Usd.Prim:
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    xf = UsdGeom.Xformable(cube)
    xf.AddTranslateOp().Set(Gf.Vec3d(*map(float, center)))
    if any(rotate):
        xf.AddRotateXYZOp().Set(Gf.Vec3f(*map(float, rotate)))
    xf.AddScaleOp().Set(Gf.Vec3f(*map(float, size)))
    return cube.GetPrim()


def _wedge(stage: Usd.Stage, path: str, w: Wedge) -> Usd.Prim:
    mesh = UsdGeom.Mesh.Define(stage, path)
    top = w.z0 + w.height
    pts = [
        (w.x0, -w.y_half, w.z0), (w.x1, -w.y_half, w.z0), (w.x1, -w.y_half, top),
        (w.x0, w.y_half, w.z0), (w.x1, w.y_half, w.z0), (w.x1, w.y_half, top),
    ]
    mesh.CreatePointsAttr([Gf.Vec3f(*map(float, p)) for p in pts])
    mesh.CreateFaceVertexCountsAttr([3, 3, 4, 4, 4])
    mesh.CreateFaceVertexIndicesAttr([0, 1, 2, 3, 5, 4, 0, 3, 4, 1, 1, 4, 5, 2, 0, 2, 5, 3])
    return mesh.GetPrim()


def build_board_stage(board: str, spec: dict, seed: int) -> Usd.Stage:
    """Author the demo board ``board`` from its layout ``spec`` as an in-memory USD stage."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 0.001)
    world = UsdGeom.Xform.Define(stage, "/World").GetPrim()
    stage.SetDefaultPrim(world)
    world.SetCustomDataByKey("sdg:board", board)
    labelled = bool(spec.get("semantics_in_usd", True))

    def mark(prim: Usd.Prim, material: str, label: str) -> None:
        _material(prim, material)
        if labelled:
            _semantics(prim, label)

    width, height = spec["size_mm"]
    UsdGeom.Xform.Define(stage, "/World/Board")
    substrate = _cube(stage, "/World/Board/Substrate", (0, 0, -0.8), (width, height, 1.6))
    mark(substrate, "soldermask", "pcb")

    UsdGeom.Xform.Define(stage, "/World/Components")
    UsdGeom.Xform.Define(stage, "/World/Board/Silkscreen")
    placements = layout(board, spec, seed)
    _author_copper(stage, placements, spec, seed, mark)
    for place in placements:
        root = f"/World/Components/{place.name}"
        xf = UsdGeom.Xform.Define(stage, root)
        xf.AddTranslateOp().Set(Gf.Vec3d(place.x, place.y, 0.0))
        xf.AddRotateZOp().Set(float(place.rot_z))
        xf.GetPrim().SetCustomDataByKey("sdg:kind", place.kind)
        parts = footprint(place.kind)
        for part in parts:
            if isinstance(part, Wedge):
                prim = _wedge(stage, f"{root}/{part.name}", part)
            else:
                prim = _cube(stage, f"{root}/{part.name}", part.center, part.size, part.rotate_xyz)
            mark(prim, part.material, part.label)
        _silkscreen_outline(stage, place, parts, mark)
    return stage


def _ribbon(stage: Usd.Stage, path: str, line: np.ndarray, width: float, z: float) -> Usd.Prim:
    """A flat trace seen from above: one upward-facing quad per segment of ``line`` (each
    lengthened by half the width at both ends, so corners close), as one Mesh."""
    points, counts, indices = [], [], []
    for p, q in zip(line[:-1], line[1:], strict=False):
        d = np.subtract(q, p)
        d = d / max(float(np.hypot(*d)), 1e-9)
        n = np.array([-d[1], d[0]]) * width / 2
        a, b = np.asarray(p) - d * width / 2, np.asarray(q) + d * width / 2
        base = len(points)
        points += [(*(a - n), z), (*(b - n), z), (*(b + n), z), (*(a + n), z)]
        counts.append(4)
        indices += [base, base + 1, base + 2, base + 3]
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr([Gf.Vec3f(*map(float, p)) for p in points])
    mesh.CreateFaceVertexCountsAttr(counts)
    mesh.CreateFaceVertexIndicesAttr(indices)
    return mesh.GetPrim()


def _prism(stage: Usd.Stage, path: str, center: tuple[float, float], radius: float, z0: float, z1: float,
           sides: int = 12) -> Usd.Prim:
    """A flat regular prism (a via's ring or drill) as a Mesh."""
    angles = np.arange(sides) * 2 * np.pi / sides
    ring = [(center[0] + radius * np.cos(a), center[1] + radius * np.sin(a)) for a in angles]
    points = [(x, y, z0) for x, y in ring] + [(x, y, z1) for x, y in ring]
    counts = [sides, sides] + [4] * sides
    indices = list(range(sides - 1, -1, -1)) + list(range(sides, 2 * sides))
    for k in range(sides):
        n = (k + 1) % sides
        indices += [k, n, sides + n, sides + k]
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr([Gf.Vec3f(*map(float, p)) for p in points])
    mesh.CreateFaceVertexCountsAttr(counts)
    mesh.CreateFaceVertexIndicesAttr(indices)
    return mesh.GetPrim()


def _author_copper(stage: Usd.Stage, placements: list[Placement], spec: dict, seed: int, mark) -> None:
    """Traces (``/World/Board/Traces/T*``, label ``trace``) and vias (``/World/Board/Vias/V*``,
    label ``via``: a copper ring and its dark drill) routed cell by cell between the pads."""
    routing = dict(spec.get("routing") or {})
    if routing.get("enabled", True) is False:
        return
    width, height = spec["size_mm"]
    nx, ny = spec["design_grid"]
    tile_w, tile_h = width / nx, height / ny
    rng = np.random.default_rng([int(seed), 1])
    UsdGeom.Xform.Define(stage, "/World/Board/Traces")
    UsdGeom.Xform.Define(stage, "/World/Board/Vias")
    by_cell: dict[tuple[int, int], list[Placement]] = {}
    for place in placements:
        by_cell.setdefault(place.cell, []).append(place)
    n_trace = n_via = 0
    outer = float(routing.get("via_outer_mm", 0.6)) / 2
    drill = float(routing.get("via_drill_mm", 0.3)) / 2
    for (i, j), members in sorted(by_cell.items()):
        x0, y0 = i * tile_w - width / 2, j * tile_h - height / 2
        copper = route_cell(members, (x0, x0 + tile_w, y0, y0 + tile_h), routing, rng)
        for line, w in copper.traces:
            n_trace += 1
            prim = _ribbon(stage, f"/World/Board/Traces/T{n_trace:04d}", line, w, TRACE_TOP)
            prim.CreateAttribute(CENTERLINE_ATTR, Sdf.ValueTypeNames.Float2Array).Set(
                [Gf.Vec2f(float(x), float(y)) for x, y in line])
            prim.CreateAttribute(WIDTH_ATTR, Sdf.ValueTypeNames.Float).Set(float(w))
            mark(prim, "copper", "trace")
        for vx, vy in copper.vias:
            n_via += 1
            root = f"/World/Board/Vias/V{n_via:04d}"
            UsdGeom.Xform.Define(stage, root)
            mark(_prism(stage, f"{root}/Ring", (vx, vy), outer, 0.0, 0.036), "copper", "via")
            mark(_prism(stage, f"{root}/Drill", (vx, vy), drill, 0.0, 0.037), "hole", "via")


def _silkscreen_outline(stage: Usd.Stage, place: Placement, parts, mark) -> None:
    """A thin silkscreen outline framing the component's footprint, 0.35 mm outside it (one Mesh)."""
    xs, ys = [], []
    for part in parts:
        if isinstance(part, Box):
            xs += [part.center[0] - part.size[0] / 2, part.center[0] + part.size[0] / 2]
            ys += [part.center[1] - part.size[1] / 2, part.center[1] + part.size[1] / 2]
    x0, x1, y0, y1 = min(xs) - 0.35, max(xs) + 0.35, min(ys) - 0.35, max(ys) + 0.35
    t = 0.12
    root = f"/World/Board/Silkscreen/{place.name}"
    xf = UsdGeom.Xform.Define(stage, root)
    xf.AddTranslateOp().Set(Gf.Vec3d(place.x, place.y, 0.0))
    xf.AddRotateZOp().Set(float(place.rot_z))
    outline = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    mark(_ribbon(stage, f"{root}/Outline", outline, t, 0.02), "silkscreen", "silkscreen")


def stage_to_usda(stage: Usd.Stage) -> str:
    """The stage as USDA text (deterministic for the same authoring)."""
    return stage.GetRootLayer().ExportToString()
