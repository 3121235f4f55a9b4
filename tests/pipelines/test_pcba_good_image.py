"""PCBA setup → render → crop end to end, on the real project configuration (smoke env)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pxr import Usd

from tests.kedro_runner import run_pipeline
from tests.pipelines.helpers import decode

BOARDS = ("0603_H100", "1152819000")  # both are assemblies: ICs and passives


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pcba")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    for board in BOARDS:
        run_pipeline("good_image", env="smoke", params={"board": board, "run_name": f"r-{board}"}, cwd=root)
    return root / "data" / "dig"


def test_setup_publishes_both_boards_under_the_url_contract(runs):
    assets = runs / "datasets" / "pcb" / "assets"
    for board in BOARDS:
        stage = Usd.Stage.Open(str(assets / board / "spark_lighting.usd"))
        assert stage.GetPrimAtPath("/World/Board/Substrate").IsValid()
        assert len(list(stage.Traverse())) > 50
        for name in ("pcba_target", "day0_image", "day0_crop"):
            assert (assets / board / f"{name}.yaml").is_file()
    raw = runs / "datasets" / "pcb" / "raw"
    spec = [json.loads(line) for line in (raw / "defect_spec.jsonl").read_text().splitlines()]
    assert {(r["material"], r["defect_type"]) for r in spec} >= {("IC", "bridge"), ("passive_component", "missing")}
    for record in spec:
        masks = sorted((raw / record["mask_dir"]).glob("*.png"))
        assert len(masks) == record["count"]
        values = np.unique(decode(masks[0]))
        assert set(values) == {0, 255}


@pytest.mark.parametrize("board", BOARDS)
def test_crops_decode_align_and_land_in_their_material(runs, board):
    components = runs / "runs" / f"r-{board}" / "usd2roi-components"
    normals = sorted(components.glob("crop/*/*/normal_img/*.png"))
    assert normals, "no ROI was cropped"
    assert {p.parts[-4] for p in normals} == {"IC", "passive_component"}  # even in the 4 smoke cells
    for normal in normals:
        mask = normal.parent.parent / "cad_mask" / f"{normal.stem}_cad_mask.png"
        img, cad = decode(normal), decode(mask)
        assert img.shape == cad.shape and img.shape[2] == 4
    summary = json.loads((components / "crop_summary.json").read_text())
    assert summary["rois"] == len(normals)
    # every render file decodes; the resolved cookbooks hold no sentinel
    for png in components.glob("trigger_0000/*.png"):
        decode(png)
    for name in ("pcba_target", "day0_image", "day0_crop"):
        assert "__" not in (components / f"{name}.yaml").read_text().replace("__default__", "")


def test_render_folder_matches_the_replicator_layout(runs):
    trigger = runs / "runs" / "r-0603_H100" / "usd2roi-components" / "trigger_0000"
    cells = sorted(p.stem.removeprefix("rgb_") for p in trigger.glob("rgb_*.png"))
    assert cells == ["x0_y0", "x1_y0", "x2_y0", "x3_y0"]  # smoke: render_patches=4, y-outer x-inner
    labels = json.loads((trigger / "semantic_segmentation_labels_x1_y0.json").read_text())
    assert labels["(0, 0, 0, 0)"] == {"class": "BACKGROUND"}
    assert labels["(0, 0, 0, 255)"] == {"class": "UNLABELLED"}
    semantic = decode(trigger / "semantic_segmentation_x1_y0.png")[..., [2, 1, 0, 3]]  # BGRA -> RGBA
    present = {tuple(int(v) for v in c) for c in np.unique(semantic.reshape(-1, 4), axis=0)}
    keys = {tuple(int(v) for v in k.strip("()").split(",")) for k in labels}
    assert present <= keys  # every colour resolves through the labels file
    boxes = np.load(trigger / "bounding_box_2d_tight_x1_y0.npy", allow_pickle=False)
    assert boxes.dtype.names == ("semanticId", "x_min", "y_min", "x_max", "y_max", "occlusionRatio")
    box_labels = json.loads((trigger / "bounding_box_2d_tight_labels_x1_y0.json").read_text())
    paths = json.loads((trigger / "bounding_box_2d_tight_prim_paths_x1_y0.json").read_text())
    assert len(paths) == len(boxes) and {str(i) for i in boxes["semanticId"]} <= set(box_labels)
    # a body box is the tight extent of that body's pixels in the semantic image
    body_rows = [i for i, p in enumerate(paths) if p.endswith("/Body")]
    row = boxes[body_rows[0]]
    color = [k for k, v in labels.items() if v["class"] == box_labels[str(row["semanticId"])]["class"]][0]
    rgba = tuple(int(v) for v in color.strip("()").split(","))
    ys, xs = np.nonzero(np.all(semantic == rgba, axis=-1))
    inside = (xs >= row["x_min"]) & (xs <= row["x_max"]) & (ys >= row["y_min"]) & (ys <= row["y_max"])
    assert inside.any() and row["x_max"] - row["x_min"] > 5
    metadata = json.loads((trigger / "metadata.json").read_text())
    assert set(metadata["cells"]) == set(cells)


def test_provenance_records_resolved_parameters(runs):
    record = (runs / "runs" / "r-0603_H100" / "provenance" / "good_image.yml").read_text()
    assert "crop_max_emit: 2" in record and "board: 0603_H100" in record
