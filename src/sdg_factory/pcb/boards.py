"""The two demo boards of the documents, authored as USD stages with usd-core.

``0603_H100`` carries 0603 chip capacitors and resistors; ``1152819000`` carries ICs (SOIC and
QFP packages with gull-wing pins). Each board is a real USD stage: a solder-mask substrate,
copper pads, solder fillets, silkscreen, component bodies and terminals, every geometry prim
marked with its material (``sdg:material``, ``primvars:displayColor``). ``0603_H100`` labels
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


def chip_0603(kind: str) -> list[Box | Wedge]:
    """A 0603 (1.6 × 0.8 mm) chip capacitor or resistor on its two pads, with fillets."""
    length, width = 1.6, 0.8
    height = 0.8 if kind == "capacitor" else 0.45
    term = 0.3
    z0 = 0.06
    pad_len, pad_w, pad_c = 0.9, 0.95, 0.8
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


@dataclass(frozen=True)
class Placement:
    name: str
    kind: str  # capacitor | resistor | soic8 | qfp32 | soic14
    x: float
    y: float
    rot_z: float


def layout(board: str, spec: dict, seed: int) -> list[Placement]:
    """Components placed on a jittered grid aligned with the board's design scan grid."""
    rng = np.random.default_rng(seed)
    width, height = spec["size_mm"]
    nx, ny = spec["design_grid"]
    per_x, per_y = spec["per_tile"]
    kinds = spec["kinds"]
    tile_w, tile_h = width / nx, height / ny
    placements = []
    index = 0
    for j in range(ny):
        for i in range(nx):
            for b in range(per_y):
                for a in range(per_x):
                    cx = i * tile_w + (a + 0.5) * tile_w / per_x + rng.uniform(-1, 1) * spec["jitter_mm"]
                    cy = j * tile_h + (b + 0.5) * tile_h / per_y + rng.uniform(-1, 1) * spec["jitter_mm"]
                    kind = kinds[int(rng.integers(len(kinds)))]
                    rot = float(rng.choice(spec.get("rotations", [0, 90])))
                    prefix = {"capacitor": "C", "resistor": "R"}.get(kind, "U")
                    index += 1
                    placements.append(Placement(f"{prefix}{index:03d}", kind, cx - width / 2,
                                                cy - height / 2, rot))
    return placements


def footprint(kind: str) -> list[Box | Wedge]:
    if kind in ("capacitor", "resistor"):
        return chip_0603(kind)
    if kind == "soic8":
        return ic_package(4, (4.9, 3.9), 1.27, quad=False)
    if kind == "soic14":
        return ic_package(7, (8.6, 3.9), 1.27, quad=False)
    if kind == "qfp32":
        return ic_package(8, (7.0, 7.0), 0.8, quad=True)
    raise ValueError(f"unknown component kind {kind!r} in pcba_setup.boards.<board>.layout.kinds "
                     "(parameters_pcba.yml); use capacitor, resistor, soic8, soic14 or qfp32")


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
    for place in layout(board, spec, seed):
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


def _silkscreen_outline(stage: Usd.Stage, place: Placement, parts, mark) -> None:
    """Four thin silkscreen bars framing the component's footprint, 0.35 mm outside it."""
    xs, ys = [], []
    for part in parts:
        if isinstance(part, Box):
            xs += [part.center[0] - part.size[0] / 2, part.center[0] + part.size[0] / 2]
            ys += [part.center[1] - part.size[1] / 2, part.center[1] + part.size[1] / 2]
    x0, x1, y0, y1 = min(xs) - 0.35, max(xs) + 0.35, min(ys) - 0.35, max(ys) + 0.35
    t = 0.12
    bars = {
        "N": ((0, y1, 0.01), (x1 - x0, t, 0.02)),
        "S": ((0, y0, 0.01), (x1 - x0, t, 0.02)),
        "E": ((x1, 0, 0.01), (t, y1 - y0, 0.02)),
        "W": ((x0, 0, 0.01), (t, y1 - y0, 0.02)),
    }
    root = f"/World/Board/Silkscreen/{place.name}"
    xf = UsdGeom.Xform.Define(stage, root)
    xf.AddTranslateOp().Set(Gf.Vec3d(place.x, place.y, 0.0))
    xf.AddRotateZOp().Set(float(place.rot_z))
    for side, (center, size) in bars.items():
        mark(_cube(stage, f"{root}/{side}", center, size), "silkscreen", "silkscreen")


def stage_to_usda(stage: Usd.Stage) -> str:
    """The stage as USDA text (deterministic for the same authoring)."""
    return stage.GetRootLayer().ExportToString()
