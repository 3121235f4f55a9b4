"""``render_backend=blender``: Cycles renders of the scan grid through the real pipelines.

One cell of the smoke board is rendered by both backends through ``pcba_render`` (Kedro, the
project's configuration) and cropped by ``pcba_crop``. The Blender environment is part of the
set-up (``make test`` creates ``.venv-blender``), so this test does not skip when bpy is
missing: it fails with the error a user would see. ``SDG_SKIP_BLENDER_TESTS=1`` skips it
explicitly (a machine without the Blender environment).
"""

from __future__ import annotations

import ast
import json
import os
import sys

import cv2
import numpy as np
import pytest

from sdg_factory.backends.render import build_render_backend
from sdg_factory.backends.render.blender import BlenderRenderError, resolve_blender_python
from sdg_factory.datasets import ReplicatorRenderFolderDataset
from tests.kedro_runner import run_pipeline
from tests.pipelines.helpers import decode

BOARD, MATERIAL, CELL = "0603_H100", "passive_component", "x0_y0"
SKIP = os.environ.get("SDG_SKIP_BLENDER_TESTS") == "1"
needs_blender = pytest.mark.skipif(SKIP, reason="SDG_SKIP_BLENDER_TESTS=1")


@pytest.fixture(scope="module")
def dig(tmp_path_factory):
    resolve_blender_python(".venv-blender/bin/python")  # a missing environment fails here, naming `make blender`
    root = tmp_path_factory.mktemp("blender")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    for backend in ("rasterizer", "blender"):
        params = {"board": BOARD, "run_name": backend, "render_backend": backend, "render_patches": 1}
        run_pipeline("pcba_render", env="smoke", params=params, cwd=root)
        run_pipeline("pcba_crop", env="smoke", params=params, cwd=root)
    return root / "data" / "dig" / "runs"


def cell(dig, backend):
    folder = dig / backend / "usd2roi-components" / "trigger_0000"
    return ReplicatorRenderFolderDataset(path=str(folder), progress=False).load()[CELL]().load()


def class_masks(rendered) -> dict[str, np.ndarray]:
    flat = rendered.semantic.reshape(-1, 4)
    out = {}
    for key, value in rendered.semantic_labels.items():
        color = np.array(ast.literal_eval(key), np.uint8)
        mask = np.all(flat == color, axis=1).reshape(rendered.semantic.shape[:2])
        if mask.any() and value["class"] not in ("BACKGROUND", "UNLABELLED"):
            out[value["class"]] = mask
    return out


def luminance(rgba: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)


@needs_blender
def test_labelled_pixels_agree_with_the_rasterizer(dig):
    raster, blender = cell(dig, "rasterizer"), cell(dig, "blender")
    assert blender.rgb.shape == raster.rgb.shape == (512, 512, 4)
    ours, theirs = class_masks(blender), class_masks(raster)
    # a sliver of a part at the cell's edge may fall on a pixel centre in one and not the other
    sizable = {name for masks in (ours, theirs) for name, mask in masks.items() if mask.sum() >= 50}
    assert sizable <= set(ours) & set(theirs) and {"capacitor", "pad", "solder", "pcb"} <= sizable
    for name in sizable:
        iou = (theirs[name] & ours[name]).sum() / (theirs[name] | ours[name]).sum()
        assert iou >= 0.95, (name, iou)
    labelled_ours, labelled_theirs = np.any(list(ours.values()), axis=0), np.any(list(theirs.values()), axis=0)
    assert (labelled_ours & labelled_theirs).sum() / (labelled_ours | labelled_theirs).sum() >= 0.95
    assert sorted(blender.prim_paths) == sorted(raster.prim_paths)
    metadata = json.loads((dig / "blender" / "usd2roi-components" / "trigger_0000" / "metadata.json").read_text())
    assert metadata["render_backend"] == "blender" and metadata["renderer"].startswith("Blender Cycles")


@needs_blender
def test_the_shading_is_not_flat(dig):
    """The parts occlude the AOI light: the board is darker beside them than far from them
    (the rasterizer's flat shading is the same everywhere), and its shades vary (median-filtered
    first, so Cycles' sample noise does not count)."""
    raster, blender = cell(dig, "rasterizer"), cell(dig, "blender")
    assert not np.array_equal(raster.rgb, blender.rgb)
    masks = class_masks(raster)
    parts = np.zeros(masks["pcb"].shape, bool)
    for name, mask in masks.items():
        if name not in ("pcb", "silkscreen"):
            parts |= mask
    distance = cv2.distanceTransform((~parts).astype(np.uint8), cv2.DIST_L2, 5)
    near, far = masks["pcb"] & (distance > 2) & (distance < 15), masks["pcb"] & (distance > 80)
    assert near.sum() > 5000 and far.sum() > 5000
    ratio = {b: luminance(c.rgb)[near].mean() / luminance(c.rgb)[far].mean()
             for b, c in (("rasterizer", raster), ("blender", blender))}
    assert abs(ratio["rasterizer"] - 1) < 0.01 and ratio["blender"] < 0.95, ratio
    board = cv2.erode(masks["pcb"].astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    spread = {b: cv2.medianBlur(luminance(c.rgb).astype(np.uint8), 5)[board].std()
              for b, c in (("rasterizer", raster), ("blender", blender))}
    assert spread["blender"] > 2 * spread["rasterizer"], spread


@needs_blender
def test_pcba_crop_cuts_the_blender_render(dig):
    """The crop consumes the Blender folder unchanged: same windows and CAD masks as the
    rasterizer's (the segmentation agrees), but the pictures are Blender's."""
    crops = {b: sorted((dig / b / "usd2roi-components" / "crop" / MATERIAL / CELL / "normal_img").glob("*.png"))
             for b in ("rasterizer", "blender")}
    assert crops["blender"] and [p.name for p in crops["blender"]] == [p.name for p in crops["rasterizer"]]
    blender_rgb = cell(dig, "blender").rgb
    for ours, theirs in zip(crops["blender"], crops["rasterizer"], strict=False):
        image, reference = decode(ours), decode(theirs)
        assert image.shape == reference.shape and not np.array_equal(image, reference)
        mask = decode(ours.parent.parent / "cad_mask" / f"{ours.stem}_cad_mask.png")
        assert mask.shape[:2] == image.shape[:2]
        # the crop is a window of the Blender cell, pixel for pixel
        bgra = cv2.cvtColor(blender_rgb, cv2.COLOR_RGBA2BGRA)
        found = cv2.matchTemplate(bgra[..., :3], image[..., :3], cv2.TM_SQDIFF)
        y, x = np.unravel_index(np.argmin(found), found.shape)
        assert np.array_equal(bgra[y : y + image.shape[0], x : x + image.shape[1]], image)


def test_a_missing_blender_environment_names_the_make_target(tmp_path):
    backend = build_render_backend("blender", {"blender": {"blender_python": str(tmp_path / "none" / "python")}})
    with pytest.raises(FileNotFoundError, match="make blender"):
        backend.cells([], [], {}, {}, 0, None)


def test_a_python_without_bpy_is_reported_with_the_fix():
    from pxr import Usd

    from sdg_factory.pcb.render import CellSpec
    from sdg_factory.pcb.usd_scene import Primitive

    backend = build_render_backend("blender", {"blender": {"blender_python": sys.executable, "timeout_s": 60}})
    prim = Primitive("/World/Box", ("pcb",), "soldermask", (0.1, 0.4, 0.2), np.zeros((1, 3, 3)))
    spec = CellSpec("x0_y0", (0.0, 1.0, 0.0, 1.0), 8, 8)
    lazy = backend.cells([spec], [prim], {"pcb": 2}, {2: (1, 2, 3, 255)}, 0, Usd.Stage.CreateInMemory())
    with pytest.raises(BlenderRenderError, match="make blender"):
        lazy["x0_y0"]()


def test_unknown_backends_and_settings_are_refused():
    with pytest.raises(ValueError, match="render_backend"):
        build_render_backend("povray")
    with pytest.raises(ValueError, match="pcba_render.blender"):
        build_render_backend("blender", {"blender": {"sample": 3}})
    with pytest.raises(ValueError, match="pcba_render.blender.light"):
        build_render_backend("blender", {"blender": {"light": "dome"}})
