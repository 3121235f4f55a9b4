"""pcba_crop on folders it did not render, and on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from sdg_factory.cookbooks import CookbookError
from sdg_factory.datasets.failures import PartitionFailuresError
from sdg_factory.paths import UnsafeNameError
from tests.kedro_runner import prepare_conf, run_pipeline
from tests.pipelines.helpers import decode, tree_digest

# A palette unlike ours, and a label entry that joins two classes.
CAP = (17, 200, 33, 255)
RES_SMD = (250, 3, 99, 255)
TERM = (120, 120, 7, 255)
PCB = (5, 60, 200, 255)


def _write(folder: Path, cell: str, semantic: np.ndarray, labels: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.full(semantic.shape[:2] + (4,), 255, np.uint8)
    rgb[..., :3] = (semantic[..., :3] // 2 + 40)
    cv2.imwrite(str(folder / f"rgb_{cell}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(folder / f"semantic_segmentation_{cell}.png"), cv2.cvtColor(semantic, cv2.COLOR_RGBA2BGRA))
    (folder / f"semantic_segmentation_labels_{cell}.json").write_text(json.dumps(labels))
    boxes = np.zeros(0, [("semanticId", "<u4"), ("x_min", "<i4"), ("y_min", "<i4"), ("x_max", "<i4"),
                         ("y_max", "<i4"), ("occlusionRatio", "<f4")])
    np.save(folder / f"bounding_box_2d_tight_{cell}.npy", boxes)
    (folder / f"bounding_box_2d_tight_labels_{cell}.json").write_text("{}")
    (folder / f"bounding_box_2d_tight_prim_paths_{cell}.json").write_text("[]")


def handmade_folder(folder: Path) -> dict:
    """Two cells: expected ROIs are the capacitor and the 'resistor,smd' part; an edge part and
    a speck are filtered out; the board and an unlabelled area are not anchors."""
    labels = {
        "(0, 0, 0, 0)": {"class": "BACKGROUND"},
        "(0, 0, 0, 255)": {"class": "UNLABELLED"},
        str(CAP): {"class": "capacitor"},
        str(RES_SMD): {"class": "resistor,smd"},
        str(TERM): {"class": "terminal"},
        str(PCB): {"class": "pcb"},
    }
    a = np.zeros((120, 160, 4), np.uint8)
    a[:] = PCB
    a[40:60, 50:90] = CAP          # body
    a[40:60, 42:50] = TERM         # terminals, joined to the body by the close
    a[40:60, 90:98] = TERM
    a[0:15, 130:150] = CAP         # touches the top edge: edge_skip
    a[100:103, 10:13] = CAP        # 9 px: below min_area
    a[90:110, 100:110] = (0, 0, 0, 255)
    b = np.zeros((120, 160, 4), np.uint8)
    b[:] = PCB
    b[30:50, 30:70] = RES_SMD
    _write(folder, "x0_y0", a, labels)
    _write(folder, "x1_y0", b, labels)
    # expected windows: component box padded by offset (10), clipped
    return {"x0_y0": (32, 30, 107, 69), "x1_y0": (20, 20, 79, 59)}


def _set_crop_cookbook(root: Path, board: str, **changes) -> None:
    path = root / "data" / "dig" / "datasets" / "pcb" / "assets" / board / "day0_crop.yaml"
    doc = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    path.write_text(yaml.safe_dump(doc))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("crop")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    return root


def _fresh(published: Path, tmp_path: Path) -> Path:
    root = tmp_path / "w"
    shutil.copytree(published, root)
    shutil.rmtree(root / "conf")
    prepare_conf(root)
    return root


def test_crop_reads_a_handmade_replicator_folder(published, tmp_path):
    root = _fresh(published, tmp_path)
    expected = handmade_folder(tmp_path / "kit" / "trigger_0000")
    _set_crop_cookbook(root, "0603_H100", classes=["capacitor", "resistor"],
                       class_dirs={"capacitor": "passive_component", "resistor": "passive_component"},
                       component_classes=["terminal"], min_area=50, morph_kernel=5)
    run_pipeline("pcba_crop", params={"render_dir": str(tmp_path / "kit" / "trigger_0000"), "run_name": "kit"},
                 cwd=root)
    crop = root / "data" / "dig" / "runs" / "kit" / "usd2roi-components" / "crop"
    normals = sorted(p.relative_to(crop).as_posix() for p in crop.glob("*/*/normal_img/*.png"))
    assert normals == ["passive_component/x0_y0/normal_img/0000.png", "passive_component/x1_y0/normal_img/0000.png"]
    for cell, (x0, y0, x1, y1) in expected.items():
        img = decode(crop / "passive_component" / cell / "normal_img" / "0000.png")
        assert img.shape[:2] == (y1 - y0 + 1, x1 - x0 + 1)
        record = json.loads((crop / ".cells" / f"{cell}.json").read_text())["rois"][0]
        assert record["bbox_xyxy"] == [x0, y0, x1, y1]
    assert json.loads((crop / ".cells" / "x1_y0.json").read_text())["rois"][0]["class_name"] == "resistor"
    merged = json.loads((crop / "semantic_segmentation_labels.json").read_text())
    assert merged[str(RES_SMD)] == {"class": "resistor,smd"}


def test_labels_and_materials_never_escape_the_run_folder(published, tmp_path):
    """A class_dirs value that is a path is refused (naming the key), not rewritten: nothing is
    cropped, and nothing lands outside the run folder."""
    root = _fresh(published, tmp_path)
    kit = tmp_path / "kit" / "trigger_0000"
    handmade_folder(kit)
    before = {p for p in tmp_path.rglob("*")}
    _set_crop_cookbook(root, "0603_H100", classes=["capacitor", "resistor"],
                       class_dirs={"capacitor": "../../../../escaped", "resistor": "/tmp/absolute_escape"},
                       component_classes=["terminal"])
    with pytest.raises(UnsafeNameError, match=r"day0_crop.yaml: class_dirs.capacitor '../../../../escaped' cannot be "
                                              r"used as a folder name: .*path separator"):
        run_pipeline("pcba_crop", params={"render_dir": str(kit), "run_name": "evil"}, cwd=root)
    run_root = root / "data" / "dig" / "runs" / "evil"
    new = {p for p in tmp_path.rglob("*")} - before
    assert all(p == run_root or run_root in p.parents for p in new), sorted(new)
    assert not Path("/tmp/absolute_escape").exists()
    assert not list(run_root.glob("usd2roi-components/crop/*/*/normal_img/*.png"))


def test_corrupt_png_fails_its_cell_names_the_file_and_keeps_the_rest(published, tmp_path):
    root = _fresh(published, tmp_path)
    run_pipeline("pcba_render", params={"run_name": "c"}, cwd=root)
    trigger = root / "data" / "dig" / "runs" / "c" / "usd2roi-components" / "trigger_0000"
    (trigger / "rgb_x1_y0.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(PartitionFailuresError, match=r"rgb_x1_y0\.png"):
        run_pipeline("pcba_crop", params={"run_name": "c"}, cwd=root)
    crop = trigger.parent / "crop"
    cells = {p.parts[-3] for p in crop.glob("*/*/normal_img/*.png")}
    assert cells == {"x0_y0", "x2_y0", "x3_y0"}
    manifest = json.loads((crop / ".sdg_manifest.json").read_text())
    assert [f["partition"] for f in manifest["failed"]] == ["x1_y0"]


@pytest.mark.parametrize("case", ["missing_key", "unresolved_sentinel", "globs_match_nothing", "no_class"])
def test_bad_cookbooks_name_the_file_and_key_and_lose_nothing(published, tmp_path, case):
    root = _fresh(published, tmp_path)
    board = "1152819000"
    run_pipeline("good_image", params={"run_name": "ok", "board": board}, cwd=root)
    before = tree_digest(root / "data" / "dig")
    assets = root / "data" / "dig" / "datasets" / "pcb" / "assets" / board
    if case == "missing_key":
        _set_crop_cookbook(root, board, min_coverage=None)
        match = r"day0_crop\.yaml is missing key 'min_coverage'"
    elif case == "unresolved_sentinel":
        doc = yaml.safe_load((assets / "day0_image.yaml").read_text())
        doc["scan_grid"]["x_num"] = "__GRID_X__"
        (assets / "day0_image.yaml").write_text(yaml.safe_dump(doc))
        match = r"day0_image\.yaml: unresolved sentinel\(s\) at 'scan_grid\.x_num' \(__GRID_X__\)"
    elif case == "globs_match_nothing":
        doc = yaml.safe_load((assets / "day0_image.yaml").read_text())
        doc["semantics"] = [{"prim_path": "/World/Parts/*", "class": "ic"}]
        (assets / "day0_image.yaml").write_text(yaml.safe_dump(doc))
        match = r"'semantics:' globs of .*day0_image\.yaml match no prim path"
    else:
        _set_crop_cookbook(root, board, classes=["diode"])  # the board holds ICs and passives, no diodes
        match = r"0 ROIs: day0_crop\.yaml asks for classes \['diode'\] but .* hold .*'ic'"
    with pytest.raises(CookbookError, match=match):
        run_pipeline("good_image", params={"run_name": "bad", "board": board}, cwd=root)
    after = tree_digest(root / "data" / "dig")
    assert {k: v for k, v in after.items() if k in before and "/assets/" not in k} == \
        {k: v for k, v in before.items() if "/assets/" not in k}
