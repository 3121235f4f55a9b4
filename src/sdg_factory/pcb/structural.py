"""Pose defects of a placed component, authored in a copy of the board USD.

A component is the parent prim of its anchor prim (the prim that carries the anchor class,
e.g. ``/World/Components/C042/Body`` → ``/World/Components/C042``). Its *moving parts* are
the geometry prims below it whose classes are not fixed to the board (pads and solder stay
where they were printed; body, terminals and pins move). A pose delta is a rigid transform
``D`` in the component's own frame (x/y in the board plane, z up, row vectors as in USD:
``p' = p · D``); it is authored as one extra ``xformOp:transform:structuralDefect`` op
prepended to each moving prim, so the published asset and every prim path stay as they were.

Modes (the document's "pose-defect data"):

- ``shift``: an in-plane translation and a small rotation about the parts' centre, off the pads;
- ``tombstone``: rotated up about the outer bottom edge of one end, so it stands on that end;
- ``sideflip``: rolled 90° about its long axis and set back down on the board.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, Vt

MODES = ("shift", "tombstone", "sideflip")
OP_SUFFIX = "structuralDefect"

_CUBE_CORNERS = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])


class StructuralDefectError(ValueError):
    """A component cannot take the requested pose defect (named with the prim and the fix)."""


@dataclass(frozen=True)
class ComponentGeometry:
    """A component in its own frame: where its body and moving parts are, and which way is long."""

    root: str
    anchor: str
    moving: tuple[str, ...]
    body_min: tuple[float, float, float]
    body_max: tuple[float, float, float]
    parts_min: tuple[float, float, float]
    parts_max: tuple[float, float, float]

    @property
    def body_size(self) -> tuple[float, float, float]:
        return tuple(float(b - a) for a, b in zip(self.body_min, self.body_max, strict=False))

    @property
    def long_axis(self) -> int:
        """0 (x) or 1 (y): the body's longer in-plane side in the component frame."""
        size = self.body_size
        return 0 if size[0] >= size[1] else 1

    @property
    def parts_center(self) -> np.ndarray:
        return (np.array(self.parts_min) + np.array(self.parts_max)) / 2

    def section_aspect_change(self) -> float:
        """How much a roll about the long axis changes the body's footprint: ``|w - h| / max(w, h)``."""
        size = self.body_size
        width, height = size[1 - self.long_axis], size[2]
        return abs(width - height) / max(width, height, 1e-12)


# --- reading the component ---------------------------------------------------------------


def copy_stage(stage: Usd.Stage) -> Usd.Stage:
    """A self-contained in-memory copy (composition flattened); ``stage`` and its files are untouched."""
    return Usd.Stage.Open(stage.Flatten())


def component_root(anchor_path: str) -> str:
    return str(Sdf.Path(anchor_path).GetParentPath())


def _local_points(prim: Usd.Prim) -> np.ndarray:
    if prim.IsA(UsdGeom.Cube):
        size = UsdGeom.Cube(prim).GetSizeAttr().Get() or 2.0
        return _CUBE_CORNERS * float(size)
    if prim.IsA(UsdGeom.PointBased):
        points = UsdGeom.PointBased(prim).GetPointsAttr().Get()
        if points:
            return np.array(points, np.float64)
    extent = UsdGeom.Boundable(prim).GetExtentAttr().Get() if prim.IsA(UsdGeom.Boundable) else None
    if extent:
        lo, hi = np.array(extent[0], np.float64), np.array(extent[1], np.float64)
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return np.zeros((0, 3))


def _matrix(m: Gf.Matrix4d) -> np.ndarray:
    return np.array(m, np.float64)


def _apply(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    return points @ m[:3, :3] + m[3, :3]


def points_in_root(stage: Usd.Stage, prim_path: str, root: str, cache: UsdGeom.XformCache) -> np.ndarray:
    prim = stage.GetPrimAtPath(prim_path)
    rel, _ = cache.ComputeRelativeTransform(prim, stage.GetPrimAtPath(root))
    return _apply(_local_points(prim), _matrix(rel))


def component_geometry(stage: Usd.Stage, anchor_path: str, labels: dict[str, tuple[str, ...]],
                       fixed_classes: set[str]) -> ComponentGeometry:
    """The component of ``anchor_path``: its moving parts (``labels`` maps prim path → classes)."""
    anchor = stage.GetPrimAtPath(anchor_path)
    if not anchor.IsValid():
        raise StructuralDefectError(f"prim {anchor_path} is not in the board USD; re-run good_image on this board")
    root = component_root(anchor_path)
    root_prim = stage.GetPrimAtPath(root)
    if not root_prim.IsA(UsdGeom.Xformable):
        raise StructuralDefectError(f"{root} (parent of the anchor prim {anchor_path}) is not an Xformable component")
    moving = []
    for prim in Usd.PrimRange(root_prim):
        if prim == root_prim or not prim.IsA(UsdGeom.Gprim):
            continue
        if set(labels.get(str(prim.GetPath()), ())) & fixed_classes:
            continue
        if prim.IsInstanceProxy():
            raise StructuralDefectError(
                f"{prim.GetPath()} is inside an instance and cannot be moved alone; make "
                f"{prim.GetPath().GetPrefixes()[0]} non-instanceable in the board USD"
            )
        moving.append(str(prim.GetPath()))
    if anchor_path not in moving:
        raise StructuralDefectError(
            f"the anchor prim {anchor_path} is labelled with a fixed class ({sorted(fixed_classes)}); remove its "
            "class from structural_defect.fixed_classes"
        )
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    body = points_in_root(stage, anchor_path, root, cache)
    parts = np.concatenate([points_in_root(stage, p, root, cache) for p in moving])
    as_tuple = lambda v: tuple(float(x) for x in v)  # noqa: E731
    return ComponentGeometry(root, anchor_path, tuple(moving), as_tuple(body.min(0)), as_tuple(body.max(0)),
                             as_tuple(parts.min(0)), as_tuple(parts.max(0)))


def moving_points(stage: Usd.Stage, geometry: ComponentGeometry) -> np.ndarray:
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    return np.concatenate([points_in_root(stage, p, geometry.root, cache) for p in geometry.moving])


# --- pose deltas (4x4, row vectors, component frame) --------------------------------------


def translation(v) -> np.ndarray:
    m = np.eye(4)
    m[3, :3] = v
    return m


def rotation(axis: int, degrees: float) -> np.ndarray:
    """Right-handed rotation about the component frame's ``axis`` (0, 1, 2), for row vectors."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(4)
    # column-vector R has R[i,i]=c, R[i,j]=-s, R[j,i]=s, R[j,j]=c; row vectors use its transpose
    m[i, i], m[i, j], m[j, i], m[j, j] = c, s, -s, c
    return m


def about(point, m: np.ndarray) -> np.ndarray:
    return translation(-np.asarray(point)) @ m @ translation(point)


def _uniform(rng: np.random.Generator, bounds, key: str) -> float:
    lo, hi = (float(v) for v in bounds)
    if hi < lo:
        raise StructuralDefectError(f"structural_defect.modes.*.{key} must be [min, max], got {list(bounds)}")
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def shift_delta(geometry: ComponentGeometry, rng: np.random.Generator, translate_mm, rotate_deg) -> dict:
    """Slide the parts in the board plane by |d| ∈ ``translate_mm`` and turn them by ``rotate_deg``."""
    distance = _uniform(rng, translate_mm, "translate_mm")
    direction = float(rng.uniform(0.0, 2 * math.pi))
    angle = _uniform(rng, rotate_deg, "rotate_deg")
    center = geometry.parts_center * np.array([1, 1, 0])
    offset = np.array([distance * math.cos(direction), distance * math.sin(direction), 0.0])
    matrix = about(center, rotation(2, angle)) @ translation(offset)
    return {"matrix": matrix, "translate_mm": offset.tolist(), "rotate_z_deg": angle,
            "about_mm": center.tolist()}


def tombstone_delta(geometry: ComponentGeometry, rng: np.random.Generator, lift_deg, points: np.ndarray) -> dict:
    """Stand the part on one end: rotate up by ``lift_deg`` about that end's outer bottom edge."""
    long_axis, short_axis = geometry.long_axis, 1 - geometry.long_axis
    angle = _uniform(rng, lift_deg, "lift_deg")
    end = int(rng.integers(2))  # which end stays on the board: 0 = the -long end, 1 = the +long end
    pivot = geometry.parts_center.copy()
    pivot[long_axis] = (geometry.parts_min, geometry.parts_max)[end][long_axis]
    pivot[2] = geometry.parts_min[2]
    far = pivot.copy()
    far[long_axis] = (geometry.parts_max, geometry.parts_min)[end][long_axis]
    # the sign that lifts the far end (instead of pushing it into the board)
    signed = max((angle, -angle), key=lambda a: _apply(far[None], about(pivot, rotation(short_axis, a)))[0, 2])
    matrix = about(pivot, rotation(short_axis, signed))
    return {"matrix": matrix, "axis": "xy"[short_axis], "angle_deg": signed, "lift_deg": angle,
            "pivot_mm": pivot.tolist(), "standing_end": ("-", "+")[end] + "xy"[long_axis]}


def sideflip_delta(geometry: ComponentGeometry, rng: np.random.Generator, roll_deg, points: np.ndarray) -> dict:
    """Roll the part about its long axis by ±``roll_deg`` and set it back down on its lowest point."""
    long_axis = geometry.long_axis
    angle = _uniform(rng, roll_deg, "roll_deg") * (1 if rng.integers(2) else -1)
    center = geometry.parts_center
    rolled = about(center, rotation(long_axis, angle))
    drop = geometry.parts_min[2] - _apply(points, rolled)[:, 2].min()
    matrix = rolled @ translation([0.0, 0.0, drop])
    return {"matrix": matrix, "axis": "xy"[long_axis], "angle_deg": angle, "about_mm": center.tolist(),
            "lift_mm": float(drop)}


def pose_delta(mode: str, geometry: ComponentGeometry, points: np.ndarray, rng: np.random.Generator,
               ranges: dict) -> dict:
    """The pose delta of ``mode`` drawn from its ``ranges`` (see parameters_structural_defect.yml)."""
    if mode == "shift":
        return shift_delta(geometry, rng, ranges["translate_mm"], ranges["rotate_deg"])
    if mode == "tombstone":
        return tombstone_delta(geometry, rng, ranges["lift_deg"], points)
    if mode == "sideflip":
        return sideflip_delta(geometry, rng, ranges["roll_deg"], points)
    raise StructuralDefectError(f"unknown structural defect mode {mode!r}; use one of {list(MODES)}")


# --- authoring ------------------------------------------------------------------------------


def apply_pose_delta(stage: Usd.Stage, root: str, moving: list[str], matrix) -> None:
    """Prepend ``matrix`` (component frame) as an op on each moving prim of ``root``.

    A prim nested under an intermediate Xform gets the delta conjugated into its parent's frame,
    so every part moves rigidly with the component.
    """
    delta = np.asarray(matrix, np.float64)
    cache = UsdGeom.XformCache(Usd.TimeCode.Default())
    root_prim = stage.GetPrimAtPath(root)
    for path in moving:
        prim = stage.GetPrimAtPath(path)
        parent = prim.GetParent()
        to_root, _ = (cache.ComputeRelativeTransform(parent, root_prim) if parent != root_prim
                      else (Gf.Matrix4d(1), False))
        c = _matrix(to_root)
        local = c @ delta @ np.linalg.inv(c)
        xformable = UsdGeom.Xformable(prim)
        ops = xformable.GetOrderedXformOps()
        if any(op.GetOpName() == f"xformOp:transform:{OP_SUFFIX}" for op in ops):
            raise StructuralDefectError(f"{path} already carries a structural defect; one pose delta per part")
        op = xformable.AddTransformOp(opSuffix=OP_SUFFIX)
        op.Set(Gf.Matrix4d(*local.ravel().tolist()))
        xformable.SetXformOpOrder([op, *ops], xformable.GetResetXformStack())


def world_center(stage: Usd.Stage, prim_path: str) -> list[float]:
    """Centre of a prim's geometry in world coordinates (mm)."""
    prim = stage.GetPrimAtPath(prim_path)
    world = UsdGeom.XformCache(Usd.TimeCode.Default()).GetLocalToWorldTransform(prim)
    points = _apply(_local_points(prim), _matrix(world))
    return ((points.min(0) + points.max(0)) / 2).tolist()


def anchor_centres_world(stage: Usd.Stage, geometry: ComponentGeometry, matrix: np.ndarray) -> tuple[list, list]:
    """World position (mm) of the component body's centre before and after the pose delta ``matrix``."""
    world = np.array(UsdGeom.XformCache(Usd.TimeCode.Default()).GetLocalToWorldTransform(
        stage.GetPrimAtPath(geometry.root)))
    body = np.append((np.array(geometry.body_min) + np.array(geometry.body_max)) / 2, 1.0)
    return (body @ world)[:3].tolist(), ((body @ matrix) @ world)[:3].tolist()


def perturbed_stage(board: Usd.Stage, mode: str, components: list[tuple[str, list[str], list]]) -> Usd.Stage:
    """A copy of ``board`` with each ``(prim_path, moving_prims, pose matrix)`` in its ``mode`` defect
    pose, the mode and the perturbed components recorded in the layer's and the prims' custom data."""
    stage = copy_stage(board)
    layer = stage.GetRootLayer()
    layer.customLayerData = {**layer.customLayerData, "sdg:structuralDefectMode": mode,
                             "sdg:perturbedComponents": Vt.StringArray([path for path, _, _ in components])}
    for path, moving, matrix in components:
        apply_pose_delta(stage, path, moving, matrix)
        stage.GetPrimAtPath(path).SetCustomDataByKey("sdg:structuralDefect", mode)
    return stage
