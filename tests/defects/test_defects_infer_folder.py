"""The inspection-folder dataset: formats, depths, nesting, optional parts, per-item errors, read-only."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets.inspection_folder import InspectionFolderDataset, InspectionItemError


def _write(path: Path, image: np.ndarray, ext: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(ext or path.suffix, image)
    assert ok
    path.write_bytes(buf.tobytes())


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (20, 30, 3), np.uint8)
    gray16 = rng.integers(0, 65535, (20, 30), np.uint16)
    rgba = rng.integers(0, 255, (20, 30, 4), np.uint8)
    _write(tmp_path / "images/a.png", rgb[:, :, ::-1])            # cv2 writes BGR
    _write(tmp_path / "images/lot1/b.jpg", rgb[:, :, ::-1])
    _write(tmp_path / "images/lot1/deep/c.bmp", rgb[:, :, ::-1])
    _write(tmp_path / "images/d.tif", gray16)
    _write(tmp_path / "images/e.PNG", rgba[:, :, [2, 1, 0, 3]], ".png")
    (tmp_path / "images/notes.txt").write_text("not an image")
    (tmp_path / "images/.hidden.png").write_bytes(b"x")
    _write(tmp_path / "golden/a.png", rgb[:, :, ::-1])
    _write(tmp_path / "good/g1.png", rgb[:, :, ::-1])
    (tmp_path / "boxes").mkdir()
    (tmp_path / "boxes/a.txt").write_text("1 0.5 0.5 0.2 0.4\n\n0 0.1 0.1 0.1 0.1\n")
    (tmp_path / "boxes/d.txt").write_text("0 0.95 0.5 0.2 0.2\n")      # pokes out on the right
    (tmp_path / "boxes/e.txt").write_text("7 0.5 0.5 0.1 0.1\n")       # class not in classes.txt
    mask = np.zeros((20, 30), np.uint8)
    mask[5:9, 5:9] = 255
    _write(tmp_path / "masks/a.png", mask)
    (tmp_path / "classes.txt").write_text("open\nshort\n")
    return tmp_path, rgb, gray16, rgba


def test_ids_formats_and_optional_parts(folder):
    root, rgb, gray16, rgba = folder
    data = InspectionFolderDataset(source=str(root)).load()
    assert sorted(data["images"]) == ["a", "d", "e", "lot1/b", "lot1/deep/c"]
    assert data["image_files"]["lot1/deep/c"] == "images/lot1/deep/c.bmp"
    assert np.array_equal(data["images"]["a"](), rgb)
    assert np.array_equal(data["images"]["lot1/deep/c"](), rgb)
    assert data["images"]["lot1/b"]().shape == (20, 30, 3)            # JPEG: lossy, same shape
    d = data["images"]["d"]()
    assert d.dtype == np.uint16 and np.array_equal(d, gray16)
    assert np.array_equal(data["images"]["e"](), rgba)
    assert sorted(data["golden"]) == ["a"] and sorted(data["good"]) == ["g1"]
    assert data["classes"] == ["open", "short"]
    assert data["boxes"]["a"]() == [(1, 0.5, 0.5, 0.2, 0.4), (0, 0.1, 0.1, 0.1, 0.1)]
    m = data["masks"]["a"]()
    assert m.dtype == bool and m.sum() == 16
    assert data["problems"] == []


def test_bad_boxes_name_the_item_and_the_file(folder):
    root, *_ = folder
    data = InspectionFolderDataset(source=str(root)).load()
    with pytest.raises(InspectionItemError, match=r"item 'd' \(boxes/d.txt\): line 1: box .* is out of range") as exc:
        data["boxes"]["d"]()
    assert exc.value.item_id == "d" and exc.value.file == "boxes/d.txt"
    with pytest.raises(InspectionItemError, match=r"item 'e' \(boxes/e.txt\): line 1: class 7 is not in classes.txt"):
        data["boxes"]["e"]()
    (root / "boxes/a.txt").write_text("0 0.5 0.5\n")
    with pytest.raises(InspectionItemError, match="a YOLO box line is 'class cx cy w h'"):
        data["boxes"]["a"]()


def test_unreadable_image_names_the_item_and_the_file(folder):
    root, *_ = folder
    (root / "images/lot1/b.jpg").write_bytes(b"\xff\xd8 truncated")
    data = InspectionFolderDataset(source=str(root)).load()
    with pytest.raises(InspectionItemError, match=r"item 'lot1/b' \(images/lot1/b.jpg\): the file is empty, truncated"):
        data["images"]["lot1/b"]()
    assert data["images"]["a"]().shape == (20, 30, 3)               # the others still load


def test_duplicate_ids_are_reported_and_the_first_kept(folder):
    root, rgb, *_ = folder
    _write(root / "images/a.jpg", rgb)
    data = InspectionFolderDataset(source=str(root)).load()
    assert data["image_files"]["a"] == "images/a.jpg"
    assert [p["id"] for p in data["problems"]] == ["a"] and "two files for one id" in data["problems"][0]["error"]


def test_no_images_and_missing_folder_are_clear_errors(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images/readme.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"has no images in .*images/ \(PNG, JPG, BMP or TIFF"):
        InspectionFolderDataset(source=str(tmp_path)).load()
    with pytest.raises(DatasetError, match="does not exist or is not a folder"):
        InspectionFolderDataset(source=str(tmp_path / "nope")).load()
    assert InspectionFolderDataset(source="none").load() is None


def test_read_only(folder):
    root, *_ = folder
    with pytest.raises(DatasetError, match="is an input only"):
        InspectionFolderDataset(source=str(root)).save({})
