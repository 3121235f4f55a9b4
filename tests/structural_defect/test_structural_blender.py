"""``structural_defect`` honours ``render_backend``: the perturbed cell rendered by Blender Cycles.

One good cell of the smoke board (rasterizer), one shifted component; ``structural_defect`` runs
with the rasterizer and then, on the same run, with ``render_backend=blender``. The crops are
cut by the same window rule from the same segmentation code, so the semantic crops agree with
the rasterizer's; the pictures are Blender's. Skipped only where Blender's environment
(``.venv-blender``, ``make blender``) is missing, which CI never is.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.kedro_runner import PROJECT_ROOT, run_pipeline

RUN = "sb"
ONE_SHIFT = {"structural_defect": {"modes": {"shift": {"count": 1}, "tombstone": {"enabled": False},
                                             "sideflip": {"enabled": False}}}}
pytestmark = pytest.mark.skipif(
    not (PROJECT_ROOT / ".venv-blender" / "bin" / "python").exists() or os.environ.get("SDG_SKIP_BLENDER_TESTS") == "1",
    reason="Blender's environment .venv-blender is missing (make blender)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("structural_blender")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    good = {"run_name": RUN, "render_patches": 1}
    run_pipeline("pcba_render", env="smoke", params=good, cwd=root)
    run_pipeline("pcba_crop", env="smoke", params=good, cwd=root)
    structural = root / "data" / "dig" / "runs" / RUN / "structural_defect"
    out = {}
    for backend in ("rasterizer", "blender"):
        run_pipeline("structural_defect", env="smoke", params={**good, **ONE_SHIFT, "render_backend": backend},
                     cwd=root)
        out[backend] = shutil.copytree(structural, root / backend)
    return out


def _labels(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "labels.jsonl").read_text().splitlines() if line.strip()]


def _rgba(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)


def _class_masks(mask: np.ndarray, labels: dict) -> dict[str, np.ndarray]:
    out = {}
    for key, entry in labels.items():
        hit = np.all(mask == np.array(ast.literal_eval(key), np.uint8), axis=-1)
        if hit.any() and entry["class"] not in ("BACKGROUND", "UNLABELLED"):
            out[entry["class"]] = out.get(entry["class"], False) | hit
    return out


def test_the_defect_crops_are_blenders_pictures_over_the_same_labels(runs):
    raster, blender = _labels(runs["rasterizer"]), _labels(runs["blender"])
    assert len(raster) == 1 and [r["stem"] for r in blender] == [r["stem"] for r in raster]
    names = [json.loads((runs[b] / "cropped" / "semantic_segmentation_labels.json").read_text())
             for b in ("rasterizer", "blender")]
    for ours, theirs in zip(blender, raster, strict=True):
        assert ours["pose_delta"] == theirs["pose_delta"] and ours["prim_path"] == theirs["prim_path"]
        rgb = {b: _rgba(runs[b] / "cropped" / r["rgb"]) for b, r in (("rasterizer", theirs), ("blender", ours))}
        mask = {b: _rgba(runs[b] / "cropped" / r["mask"]) for b, r in (("rasterizer", theirs), ("blender", ours))}
        assert rgb["blender"].shape == mask["blender"].shape and rgb["blender"].shape[2] == 4
        # one window rule over one segmentation code: the windows agree to a pixel or two
        assert np.abs(np.subtract(ours["bbox_xyxy"], theirs["bbox_xyxy"])).max() <= 2
        h = min(mask["rasterizer"].shape[0], mask["blender"].shape[0])
        w = min(mask["rasterizer"].shape[1], mask["blender"].shape[1])
        masks = {b: _class_masks(mask[b][:h, :w], names[k]) for k, b in enumerate(("rasterizer", "blender"))}
        anchor = ours["class_name"]
        assert anchor in masks["blender"] and anchor in masks["rasterizer"]
        a, b = masks["rasterizer"][anchor], masks["blender"][anchor]
        assert (a & b).sum() / (a | b).sum() >= 0.9, anchor
        # the picture is path traced: not the rasterizer's, and not flat over the part's own pixels
        assert not np.array_equal(rgb["blender"][:h, :w], rgb["rasterizer"][:h, :w])
        grey = {k: cv2.cvtColor(np.ascontiguousarray(v[:h, :w, :3]), cv2.COLOR_RGB2GRAY) for k, v in rgb.items()}
        spread = {k: float(grey[k][b].std()) for k in grey}
        assert spread["blender"] > spread["rasterizer"], spread


def test_the_blender_run_recomputed_only_the_render_and_what_follows(runs):
    """The backend is a parameter of the structural render: the plan and the perturbed USD stay."""
    for name in ("plan.jsonl",):
        assert (runs["rasterizer"] / name).read_bytes() == (runs["blender"] / name).read_bytes()
    usd = sorted((runs["rasterizer"] / "usd").glob("*.usda"))
    assert usd and all(p.read_bytes() == (runs["blender"] / "usd" / p.name).read_bytes() for p in usd)
