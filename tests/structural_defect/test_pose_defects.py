"""Pose deltas on a small hand-made USD component (no pipeline run)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pxr import Gf, Usd, UsdGeom

from sdg_factory.imaging.roi_crop import CropConfig
from sdg_factory.imaging.structural_crop import WindowRejected, component_window
from sdg_factory.pcb.structural import (
    apply_pose_delta,
    component_geometry,
    copy_stage,
    moving_points,
    pose_delta,
    rotation,
)
from sdg_factory.pipelines.structural_defect.nodes import match_good_rois, pair_with_good_images
from sdg_factory.seeding import item_rng

LABELS = {
    "/World/C1/Body": ("capacitor",),
    "/World/C1/Terminal_0": ("terminal",),
    "/World/C1/Terminal_1": ("terminal",),
    "/World/C1/Pad_0": ("pad",),
    "/World/C1/Pad_1": ("pad",),
}
RANGES = {"translate_mm": [0.2, 0.3], "rotate_deg": [-5, 5], "lift_deg": [70, 70], "roll_deg": [90, 90]}


def _cube(stage, path, center, size):
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*center))
    cube.AddScaleOp().Set(Gf.Vec3f(*size))


def _component() -> Usd.Stage:
    """A 1.6 × 0.8 × 0.5 mm chip at (5, 3) turned 90°, a terminal nested under a tilted Xform."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    root = UsdGeom.Xform.Define(stage, "/World/C1")
    root.AddTranslateOp().Set(Gf.Vec3d(5, 3, 0))
    root.AddRotateZOp().Set(90.0)
    _cube(stage, "/World/C1/Body", (0, 0, 0.3), (1.0, 0.8, 0.5))
    _cube(stage, "/World/C1/Terminal_0", (-0.65, 0, 0.3), (0.3, 0.8, 0.5))
    nested = UsdGeom.Xform.Define(stage, "/World/C1/Right")
    nested.AddTranslateOp().Set(Gf.Vec3d(0.65, 0, 0.3))
    nested.AddRotateXOp().Set(30.0)  # a frame that is not the component's: the delta must be conjugated
    _cube(stage, "/World/C1/Right/Terminal_1", (0, 0, 0), (0.3, 0.8, 0.5))
    _cube(stage, "/World/C1/Pad_0", (-0.8, 0, 0.02), (0.9, 0.95, 0.04))
    _cube(stage, "/World/C1/Pad_1", (0.8, 0, 0.02), (0.9, 0.95, 0.04))
    return stage


def _world_points(stage, path):
    prim = stage.GetPrimAtPath(path)
    m = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(prim))
    corners = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
    return corners @ m[:3, :3] + m[3, :3]


def _moved(mode, seed_id="C1"):
    stage = copy_stage(_component())
    labels = {**LABELS, "/World/C1/Right/Terminal_1": ("terminal",)}
    geometry = component_geometry(stage, "/World/C1/Body", labels, {"pad", "solder"})
    delta = pose_delta(mode, geometry, moving_points(stage, geometry), item_rng(7, f"{mode}/{seed_id}"), RANGES)
    before = {p: _world_points(stage, p) for p in [*geometry.moving, "/World/C1/Pad_0"]}
    apply_pose_delta(stage, geometry.root, list(geometry.moving), delta["matrix"])
    after = {p: _world_points(stage, p) for p in before}
    return geometry, delta, before, after


def test_moving_parts_exclude_fixed_classes_and_the_long_axis_is_the_body_length():
    geometry, _, before, after = _moved("shift")
    assert set(geometry.moving) == {"/World/C1/Body", "/World/C1/Terminal_0", "/World/C1/Right/Terminal_1"}
    assert geometry.long_axis == 0 and np.allclose(geometry.body_size, (1.0, 0.8, 0.5))
    assert np.allclose(before["/World/C1/Pad_0"], after["/World/C1/Pad_0"])  # pads stay on the board


@pytest.mark.parametrize("mode", ["shift", "tombstone", "sideflip"])
def test_every_part_moves_rigidly_with_the_component_even_when_nested(mode):
    geometry, delta, before, after = _moved(mode)
    old = np.concatenate([before[p] for p in geometry.moving])
    new = np.concatenate([after[p] for p in geometry.moving])
    pairwise = lambda pts: np.linalg.norm(pts[:, None] - pts[None], axis=-1)  # noqa: E731
    assert np.allclose(pairwise(old), pairwise(new), atol=1e-6)
    # and equals the delta applied in the component frame (world = component local · D · W)
    stage = _component()  # (kept alive: a prim of a collected stage reads as identity)
    w = np.array(UsdGeom.XformCache().GetLocalToWorldTransform(stage.GetPrimAtPath("/World/C1")))
    assert not np.allclose(w, np.eye(4))
    local = np.c_[old, np.ones(len(old))] @ np.linalg.inv(w)
    assert np.allclose((local @ delta["matrix"] @ w)[:, :3], new, atol=1e-6)


def test_shift_stays_in_the_board_plane():
    _, delta, before, after = _moved("shift")
    assert 0.2 <= math.hypot(*delta["translate_mm"][:2]) <= 0.3 and abs(delta["rotate_z_deg"]) <= 5
    assert np.allclose(before["/World/C1/Body"][:, 2], after["/World/C1/Body"][:, 2])


def test_tombstone_stands_on_one_end():
    geometry, delta, before, after = _moved("tombstone")
    parts_old = np.concatenate([before[p] for p in geometry.moving])
    parts_new = np.concatenate([after[p] for p in geometry.moving])
    assert parts_new[:, 2].min() == pytest.approx(parts_old[:, 2].min(), abs=1e-6)  # still on the board
    # the body's long edge (corner 0 → corner 4 differ in local x only) now climbs at the lift angle
    edge = after["/World/C1/Body"][4] - after["/World/C1/Body"][0]
    assert math.degrees(math.asin(abs(edge[2]) / np.linalg.norm(edge))) == pytest.approx(70)
    assert abs(delta["angle_deg"]) == pytest.approx(70)
    # one end stays down, the other is lifted well above the body's old top
    ends = [after[p][:, 2] for p in ("/World/C1/Terminal_0", "/World/C1/Right/Terminal_1")]
    low, high = sorted(ends, key=lambda z: z.min())
    assert low.min() < 0.1 and high.min() > 1.0


def test_sideflip_rolls_about_the_long_axis_and_rests_on_the_board():
    geometry, delta, before, after = _moved("sideflip")
    body_old, body_new = before["/World/C1/Body"], after["/World/C1/Body"]
    assert np.ptp(body_new[:, 2]) == pytest.approx(0.8)  # its width is now its height
    # the component is turned 90° about z, so its long axis runs along world y
    assert np.ptp(body_new[:, 1]) == pytest.approx(np.ptp(body_old[:, 1]))
    assert np.ptp(body_new[:, 0]) == pytest.approx(0.5)
    parts = np.concatenate([after[p] for p in geometry.moving])
    assert parts[:, 2].min() == pytest.approx(np.concatenate([before[p] for p in geometry.moving])[:, 2].min())
    assert geometry.section_aspect_change() == pytest.approx(0.3 / 0.8)


def test_pose_deltas_are_seeded_per_item():
    a, b = _moved("shift", "C1")[1], _moved("shift", "C1")[1]
    c = _moved("shift", "C2")[1]
    assert np.array_equal(a["matrix"], b["matrix"]) and not np.array_equal(a["matrix"], c["matrix"])


def test_rotation_is_right_handed_for_row_vectors():
    assert np.allclose(np.array([1, 0, 0, 1]) @ rotation(2, 90), [0, 1, 0, 1])
    assert np.allclose(np.array([0, 1, 0, 1]) @ rotation(0, 90), [0, 0, 1, 1])
    assert np.allclose(np.array([0, 0, 1, 1]) @ rotation(1, 90), [1, 0, 0, 1])


def test_window_grows_only_where_the_component_leaves_the_good_window():
    labels = {"(200, 10, 10, 255)": {"class": "capacitor"}, "(10, 200, 10, 255)": {"class": "pad"}}
    semantic = np.zeros((100, 100, 4), np.uint8)
    semantic[40:60, 30:50] = (10, 200, 10, 255)
    semantic[42:58, 45:75] = (200, 10, 10, 255)  # the shifted body runs past the pads
    cfg = CropConfig(classes=("capacitor",), class_dirs={}, component_classes=("pad",), morph_kernel=3,
                     min_area=10, offset=5)
    window = component_window(semantic, labels, cfg, (45, 42, 74, 57), (25, 35, 54, 64))
    assert window.component_bbox_xyxy == (30, 40, 74, 59)
    assert window.bbox_xyxy == (25, 35, 79, 64)
    assert window.anchor_area == 16 * 30
    inside = component_window(semantic, labels, cfg, (45, 42, 74, 57), (0, 0, 99, 99))
    assert inside.bbox_xyxy == (0, 0, 99, 99)
    semantic[42:58, 45:100] = (200, 10, 10, 255)
    with pytest.raises(WindowRejected, match="edge_skip"):
        component_window(semantic, labels, cfg, (45, 42, 99, 57), (25, 35, 54, 64))


def test_without_a_good_run_the_error_names_the_fix():
    with pytest.raises(FileNotFoundError, match="pipeline=good_image"):
        match_good_rois({}, {}, {}, {"classes": ["capacitor"]})


def test_a_crop_without_its_good_pair_is_an_error():
    label = {"mode": "shift", "stem": "x0_y0__0003", "material": "passive_component", "prim_path": "/World/C1",
             "rgb": "shift/rgb/x0_y0__0003.png", "mask": "shift/mask/x0_y0__0003.png",
             "good_bbox_xyxy": [0, 0, 9, 9], "bbox_xyxy": [0, 0, 9, 9]}
    pairs = pair_with_good_images([label], {"passive_component/x0_y0/0003": None})
    assert pairs[0]["normal_img"] == "usd2roi-components/crop/passive_component/x0_y0/normal_img/0003.png"
    with pytest.raises(ValueError, match="no good normal_img"):
        pair_with_good_images([label], {"IC/x0_y0/0003": None, "passive_component/x1_y0/0003": None})
