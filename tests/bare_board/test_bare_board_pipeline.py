"""bare_board_defects end to end (smoke): pcba_setup → bare_board_defects, read back from disk."""

from __future__ import annotations

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
