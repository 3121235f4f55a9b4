"""structural_defect end to end on the smoke configuration: pcba_setup → good_image → structural_defect.

Every number below is recomputed from the written files (PNG masks decoded, colours resolved
through the labels files, USD re-opened with usd-core), not read back from the pipeline's
own bookkeeping, except where a record is what is being checked.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from pxr import Usd, UsdGeom

from tests.kedro_runner import run_pipeline

RUN = "p"
MODES = ("shift", "tombstone", "sideflip")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def dig(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("structural")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    asset = root / "data" / "dig" / "datasets" / "pcb" / "assets" / "0603_H100" / "spark_lighting.usd"
    run_pipeline("good_image", env="smoke", params={"run_name": RUN}, cwd=root)
    before = (_sha(asset), asset.stat().st_mtime_ns)
    run_pipeline("structural_defect", env="smoke", params={"run_name": RUN}, cwd=root)
    run = root / "data" / "dig" / "runs" / RUN
    return {"run": run, "asset": asset, "asset_before": before}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _rgba(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape[2] == 4, f"{path} is not an RGBA PNG"
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def _class_mask(mask: np.ndarray, labels: dict, cls: str) -> np.ndarray:
    out = np.zeros(mask.shape[:2], bool)
    for key, entry in labels.items():
        if cls in [c.strip() for c in entry["class"].split(",")]:
            color = np.array([int(v) for v in key.strip("()").split(",")], np.uint8)
            out |= np.all(mask == color, axis=-1)
    return out


def _centroid_in_tile(mask: np.ndarray, window) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean() + window[0], rows.mean() + window[1]])


def _aspect(mask: np.ndarray) -> float:
    points = np.argwhere(mask)[:, ::-1].astype(np.float32)
    _, (w, h), _ = cv2.minAreaRect(points)
    return max(w, h) / min(w, h)


@pytest.fixture(scope="module")
def pairs(dig) -> list[dict]:
    run = dig["run"]
    good_labels = json.loads((run / "usd2roi-components" / "crop" / "semantic_segmentation_labels.json").read_text())
    defect_labels = json.loads(
        (run / "structural_defect" / "cropped" / "semantic_segmentation_labels.json").read_text())
    labels = {(r["mode"], r["stem"]): r for r in _jsonl(run / "structural_defect" / "labels.jsonl")}
    metadata = json.loads((run / "usd2roi-components" / "trigger_0000" / "metadata.json").read_text())
    out = []
    for pair in _jsonl(run / "structural_defect" / "pairs.jsonl"):
        label = labels[(pair["mode"], pair["stem"])]
        cls = pair["class_name"]
        rect = metadata["cells"][pair["cell"]]["world_rect_xxyy"]
        out.append({
            **pair, "label": label, "px_per_mm": metadata["scan_grid"]["resolution"][0] / (rect[1] - rect[0]),
            "good_body": _class_mask(_rgba(run / pair["cad_mask"]), good_labels, cls),
            "defect_body": _class_mask(_rgba(run / pair["defect_mask"]), defect_labels, cls),
        })
    return out


def test_every_structural_crop_has_its_good_pair(dig):
    run = dig["run"]
    cropped = run / "structural_defect" / "cropped"
    written = {(p.parts[-3], p.stem) for p in cropped.glob("*/rgb/*.png")}
    assert {m for m, _ in written} == set(MODES), "every mode writes at least one crop"
    assert written == {(p.parts[-3], p.stem) for p in cropped.glob("*/mask/*.png")}
    pairs = _jsonl(run / "structural_defect" / "pairs.jsonl")
    labels = _jsonl(run / "structural_defect" / "labels.jsonl")
    assert {(p["mode"], p["stem"]) for p in pairs} == written == {(r["mode"], r["stem"]) for r in labels}
    for pair in pairs:
        # the join key: <cell>__<NNNN> and material name the good crop in the other tree
        cell, good_stem = pair["stem"].split("__")
        assert pair["normal_img"] == f"usd2roi-components/crop/{pair['material']}/{cell}/normal_img/{good_stem}.png"
        good, cad = _rgba(run / pair["normal_img"]), _rgba(run / pair["cad_mask"])
        rgb, mask = _rgba(run / pair["defect_rgb"]), _rgba(run / pair["defect_mask"])
        assert good.shape == cad.shape and rgb.shape == mask.shape
        x0, y0, x1, y1 = pair["defect_bbox_xyxy"]
        assert rgb.shape[:2] == (y1 - y0 + 1, x1 - x0 + 1)
        gx0, gy0, gx1, gy1 = pair["good_bbox_xyxy"]
        assert good.shape[:2] == (gy1 - gy0 + 1, gx1 - gx0 + 1)
        # the defect window always contains the good window, so the good crop lies inside it
        assert x0 <= gx0 and y0 <= gy0 and x1 >= gx1 and y1 >= gy1
        assert pair["aligned"] == (pair["defect_bbox_xyxy"] == pair["good_bbox_xyxy"])


def test_untouched_pixels_match_the_good_render(dig):
    """Same scan grid, palette, semantic ids and seed: only the perturbed component differs."""
    run = dig["run"]
    trigger = run / "usd2roi-components" / "trigger_0000"
    for label in _jsonl(run / "structural_defect" / "labels.jsonl"):
        tile_rgb = _rgba(trigger / f"rgb_{label['cell']}.png")
        tile_sem = _rgba(trigger / f"semantic_segmentation_{label['cell']}.png")
        x0, y0, x1, y1 = label["bbox_xyxy"]
        rgb = _rgba(run / "structural_defect" / "cropped" / label["rgb"])
        mask = _rgba(run / "structural_defect" / "cropped" / label["mask"])
        keep = np.ones(rgb.shape[:2], bool)  # pixels outside both the good and the defect component
        for box in (label["component_bbox_xyxy"], _good_component_box(run, label)):
            keep[max(box[1] - y0 - 2, 0) : box[3] - y0 + 3, max(box[0] - x0 - 2, 0) : box[2] - x0 + 3] = False
        assert keep.sum() > 0.2 * keep.size
        assert np.array_equal(rgb[keep], tile_rgb[y0 : y1 + 1, x0 : x1 + 1][keep])
        assert np.array_equal(mask[keep], tile_sem[y0 : y1 + 1, x0 : x1 + 1][keep])
        assert not np.array_equal(mask, tile_sem[y0 : y1 + 1, x0 : x1 + 1]), "the defect changed nothing"


def _good_component_box(run: Path, label: dict) -> list[int]:
    records = json.loads((run / "usd2roi-components" / "crop" / ".cells" / f"{label['cell']}.json").read_text())
    pid = f"{label['material']}/{label['cell']}/{label['good_stem']}"
    return next(r["component_bbox_xyxy"] for r in records["rois"] if r["partition_id"] == pid)


def test_colours_mean_the_same_classes_in_both_trees(dig):
    run = dig["run"]
    good = json.loads((run / "usd2roi-components" / "crop" / "semantic_segmentation_labels.json").read_text())
    defect = json.loads((run / "structural_defect" / "cropped" / "semantic_segmentation_labels.json").read_text())
    by_class = lambda labels: {e["class"]: k for k, e in labels.items()}  # noqa: E731
    shared = set(by_class(good)) & set(by_class(defect))
    assert {"capacitor", "resistor", "terminal", "pad"} & shared
    assert all(by_class(good)[c] == by_class(defect)[c] for c in shared)


def test_shift_keeps_the_visible_area_and_moves_the_centroid(pairs):
    shifted = [p for p in pairs if p["mode"] == "shift"]
    assert shifted
    for pair in shifted:
        good, defect = pair["good_body"], pair["defect_body"]
        assert abs(int(defect.sum()) - int(good.sum())) / good.sum() < 0.04  # area kept (rotation re-rasterizes)
        moved = _centroid_in_tile(defect, pair["defect_bbox_xyxy"]) - _centroid_in_tile(good, pair["good_bbox_xyxy"])
        world = np.subtract(pair["label"]["anchor_center_world_mm_defect"], pair["label"]["anchor_center_world_mm"])
        expected = np.array([world[0], -world[1]]) * pair["px_per_mm"]  # columns +x, rows -y
        assert np.linalg.norm(expected) >= 0.15 * pair["px_per_mm"] - 1e-6  # at least translate_mm[0]
        assert np.linalg.norm(moved - expected) < 1.5, (moved, expected)


def test_tombstone_shrinks_the_visible_body_by_the_cosine_of_its_lift(pairs):
    standing = [p for p in pairs if p["mode"] == "tombstone"]
    assert standing
    for pair in standing:
        lift = pair["label"]["pose_delta"]["lift_deg"]
        assert 60 <= lift <= 85
        ratio = pair["defect_body"].sum() / pair["good_body"].sum()
        assert 0 < ratio < 0.55
        # the body's top face, tilted by the lift, projects to cos(lift) of its area
        assert abs(ratio - math.cos(math.radians(lift))) < 0.05, (ratio, lift)


def test_sideflip_changes_the_body_aspect_ratio_to_length_over_height(pairs):
    flipped = [p for p in pairs if p["mode"] == "sideflip"]
    assert flipped
    for pair in flipped:
        length, width, height = pair["label"]["body_size_mm"]
        good, defect = _aspect(pair["good_body"]), _aspect(pair["defect_body"])
        assert abs(good - length / width) / (length / width) < 0.1
        assert abs(defect - length / height) / (length / height) < 0.1
        assert abs(defect - good) / good > 0.3


def test_perturbed_usd_is_valid_and_the_asset_is_untouched(dig):
    run, asset = dig["run"], dig["asset"]
    assert (_sha(asset), asset.stat().st_mtime_ns) == dig["asset_before"]
    original = Usd.Stage.Open(str(asset))
    plan = _jsonl(run / "structural_defect" / "plan.jsonl")
    for mode in MODES:
        stage = Usd.Stage.Open(str(run / "structural_defect" / "usd" / f"{mode}.usda"))
        assert stage is not None and stage.GetPrimAtPath("/World/Board/Substrate").IsValid()
        items = [r for r in plan if r["mode"] == mode]
        assert items
        moved = {r["prim_path"] for r in items}
        cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), [UsdGeom.Tokens.default_])
        for item in items:
            body = cache.ComputeWorldBound(stage.GetPrimAtPath(item["anchor_prim"])).ComputeAlignedRange()
            center = (np.array(body.GetMin()) + np.array(body.GetMax())) / 2
            assert np.allclose(center, item["anchor_center_world_mm_defect"], atol=1e-4)
            pad = next(p for p in stage.GetPrimAtPath(item["prim_path"]).GetChildren() if p.GetName().startswith("Pad"))
            assert pad.GetAttribute("xformOpOrder").Get() == original.GetPrimAtPath(pad.GetPath()).GetAttribute(
                "xformOpOrder").Get(), "pads stay on the board"
        # every prim outside the perturbed components sits exactly where the asset has it
        xf_new, xf_old = UsdGeom.XformCache(), UsdGeom.XformCache()
        for prim in original.Traverse():
            path = str(prim.GetPath())
            if prim.IsA(UsdGeom.Gprim) and not any(path.startswith(m + "/") for m in moved):
                assert xf_new.GetLocalToWorldTransform(stage.GetPrimAtPath(path)) == \
                    xf_old.GetLocalToWorldTransform(prim), path


def test_a_resumed_run_rewrites_only_what_is_missing_with_the_same_bytes(dig):
    from tests.pipelines.helpers import tree_digest

    run = dig["run"]
    root = run / "structural_defect"
    before = tree_digest(root, skip_hidden=True)
    label = _jsonl(root / "labels.jsonl")[0]
    cells = root / "cropped" / label["mode"] / ".cells"
    (cells / f"{label['cell']}.json").unlink()  # as if killed before the cell finished
    (root / "cropped" / label["rgb"]).unlink()
    (root / "usd" / "tombstone.usda").unlink()
    untouched = sorted(p for p in (root / "cropped").glob("*/rgb/*.png")
                       if p.parts[-3] != label["mode"] or not p.stem.startswith(label["cell"] + "__"))
    assert untouched
    stamps = {p: p.stat().st_mtime_ns for p in untouched}
    run_pipeline("structural_defect", env="smoke", params={"run_name": RUN}, cwd=run.parents[3])
    assert tree_digest(root, skip_hidden=True) == before
    assert {p: p.stat().st_mtime_ns for p in untouched} == stamps  # finished cells were not redone
