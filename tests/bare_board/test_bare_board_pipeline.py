"""bare_board_defects end to end (smoke): pcba_setup → bare_board_defects, read back from disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from sdg_factory.imaging.bare_board import DEFECT_TYPES
from tests.bare_board.test_bare_board_pairs import mask_component_boxes, yolo_pixel_boxes
from tests.kedro_runner import run_pipeline


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bare_board")
    run_pipeline("pcba_setup", env="smoke", cwd=root)
    run_pipeline("bare_board_defects", env="smoke", params={"run_name": "realistic"}, cwd=root)
    run_pipeline("bare_board_defects", env="smoke", cwd=root,
                 params={"run_name": "clean", "bare_board_defects": {"nuisance": "none"}, "board": "1152819000"})
    runs = root / "data" / "dig" / "runs"
    return {"realistic": runs / "realistic" / "bare_board", "clean": runs / "clean" / "bare_board"}


def _ids(folder: Path, suffix: str) -> set[str]:
    return {p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob(f"*{suffix}")}


@pytest.mark.parametrize("run", ["realistic", "clean"])
def test_inspection_folder_layout(folders, run):
    out = folders[run]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["boxes", "classes.txt", "golden", "images", "masks"]
    assert (out / "classes.txt").read_text().split() == list(DEFECT_TYPES)
    ids = _ids(out / "images", ".png")
    assert len(ids) == 6
    assert _ids(out / "golden", ".png") == _ids(out / "masks", ".png") == _ids(out / "boxes", ".txt") == ids
    seen = set()
    for pid in sorted(ids):
        image = cv2.imread(str(out / "images" / f"{pid}.png"), cv2.IMREAD_UNCHANGED)
        golden = cv2.imread(str(out / "golden" / f"{pid}.png"), cv2.IMREAD_UNCHANGED)
        mask = cv2.imread(str(out / "masks" / f"{pid}.png"), cv2.IMREAD_UNCHANGED)
        assert image.ndim == 2 and image.shape == golden.shape == mask.shape == (192, 192)
        assert set(np.unique(mask)) == {0, 255}
        boxes = yolo_pixel_boxes((out / "boxes" / f"{pid}.txt").read_text(), mask.shape)
        assert sorted(b[1:] for b in boxes) == mask_component_boxes(mask), pid
        seen |= {DEFECT_TYPES[b[0]] for b in boxes}
        outside = (image != golden) & (mask == 0)
        if run == "clean":
            assert not outside.any(), pid
        else:
            assert outside.mean() > 0.05, pid  # scanner noise and misregistration everywhere
    assert seen == set(DEFECT_TYPES)


# digests of every file of images/, golden/, masks/, boxes/ and classes.txt that main's code wrote
# (e3641bd: four lazy savers per item, each item drawn once per folder) for these two runs: the
# run that draws each item once, in the images folder's tasks, writes the same bytes
MAIN_DIGESTS = {"realistic": "6aee3f67bca3bcfa85037bea6aaae5b2a4808963491e75c28a5adcc36b5729c2",
                "clean": "ed8e30deb7226111f1d83e2b576dceeebb638efa3ee8cfe624c2335f3a0673ce"}


def folder_digest(out: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not any(part.startswith(".") for part in rel.split("/")):
            h.update(rel.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


@pytest.mark.parametrize("run", ["realistic", "clean"])
def test_same_bytes_as_when_each_folder_drew_its_items(folders, run):
    assert folder_digest(folders[run]) == MAIN_DIGESTS[run]
