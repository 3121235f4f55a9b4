"""Bare-board pairs drawn in-process from the demo board's copper (no Kedro run): exact masks,
boxes that agree with the masks, all six defect types, nuisance only where asked for."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy import ndimage

from sdg_factory.imaging.bare_board import DEFECT_TYPES
from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pcb.copper import board_copper
from sdg_factory.pipelines.bare_board_defects.nodes import BareBoardSettings, bare_board_item
from tests.kedro_runner import PROJECT_ROOT

SEED = 7
IDS = [f"{k:04d}" for k in range(6)]


@pytest.fixture(scope="module")
def copper():
    boards = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_pcba.yml").read_text())["pcba_setup"]["boards"]
    return board_copper(build_board_stage("0603_H100", boards["0603_H100"]["layout"], SEED))


def _settings(**overrides) -> BareBoardSettings:
    return BareBoardSettings.from_params({"crop_px": 192, "px_per_mm": 32, "supersample": 2, **overrides})


def _item(pid, copper, settings):
    return {part: bare_board_item(pid, part, copper, settings, SEED) for part in ("image", "golden", "mask", "boxes")}


def yolo_pixel_boxes(text: str, shape) -> list[tuple[int, int, int, int, int]]:
    """(class, x0, y0, x1, y1) inclusive pixel boxes from YOLO lines."""
    h, w = shape
    out = []
    for line in text.splitlines():
        cls, cx, cy, bw, bh = line.split()
        cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
        out.append((int(cls), round(cx - bw / 2), round(cy - bh / 2), round(cx + bw / 2) - 1, round(cy + bh / 2) - 1))
    return out


def mask_component_boxes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes of the 8-connected components of a mask, by scipy (not the generator's OpenCV)."""
    labels, _ = ndimage.label(mask > 0, structure=np.ones((3, 3)))
    return sorted((s[1].start, s[0].start, s[1].stop - 1, s[0].stop - 1) for s in ndimage.find_objects(labels))


def test_pairs_without_nuisance_differ_exactly_inside_their_masks(copper):
    settings = _settings(nuisance="none")
    for pid in IDS:
        item = _item(pid, copper, settings)
        changed = item["image"] != item["golden"]
        inside = item["mask"] > 0
        assert inside.any(), pid
        assert not (changed & ~inside).any(), f"{pid}: pixels changed outside the mask"
        assert (changed == inside).all(), f"{pid}: mask pixels that did not change"  # a footprint is a coverage change


def test_six_types_appear_and_boxes_agree_with_mask_components(copper):
    settings = _settings()
    seen = []
    for pid in IDS:
        item = _item(pid, copper, settings)
        boxes = yolo_pixel_boxes(item["boxes"], item["mask"].shape)
        assert boxes, pid
        seen += [DEFECT_TYPES[b[0]] for b in boxes]
        assert sorted(b[1:] for b in boxes) == mask_component_boxes(item["mask"]), pid
    assert set(seen) == set(DEFECT_TYPES)


def test_realistic_nuisance_moves_the_golden_by_a_few_pixels(copper):
    import cv2

    item = _item("0004", copper, _settings(nuisance="realistic"))
    golden, image, mask = item["golden"].astype(np.float32), item["image"].astype(np.float32), item["mask"]
    assert (np.abs(golden - image)[mask == 0] > 4).mean() > 0.01  # differences outside the defects
    (dx, dy), _ = cv2.phaseCorrelate(image, golden)
    assert 1.5 <= abs(dx) <= 3.5 and 1.5 <= abs(dy) <= 3.5, (dx, dy)
    none = _item("0004", copper, _settings(nuisance="none"))
    assert np.array_equal(none["mask"], mask)  # the nuisance moves the golden only: same masks


def test_binary_variant_is_two_levels_and_keeps_the_masks(copper):
    grey = _item("0002", copper, _settings(nuisance="none"))
    binary = _item("0002", copper, _settings(nuisance="none", image="binary"))
    assert set(np.unique(binary["image"])) <= {0, 255} and set(np.unique(binary["golden"])) <= {0, 255}
    assert np.array_equal(binary["mask"], grey["mask"])
    assert not ((binary["image"] != binary["golden"]) & (binary["mask"] == 0)).any()


def test_items_are_seeded_by_run_seed_and_id(copper):
    settings = _settings()
    assert np.array_equal(bare_board_item("0003", "image", copper, settings, SEED),
                          bare_board_item("0003", "image", copper, settings, SEED))
    assert not np.array_equal(bare_board_item("0003", "image", copper, settings, SEED),
                              bare_board_item("0003", "image", copper, settings, SEED + 1))


@pytest.mark.parametrize("params,message", [
    ({"nuisance": "realstic"}, "bare_board_defects.nuisance must be one of"),
    ({"nuisanse": "none"}, "did you mean 'nuisance'"),
    ({"defects_per_image": [3, 1]}, "bare_board_defects.defects_per_image must be [min, max]"),
])
def test_bad_parameters_name_the_key(params, message):
    with pytest.raises(ValueError) as err:
        BareBoardSettings.from_params(params)
    assert message in str(err.value)


def test_bad_nested_key_names_the_section():
    with pytest.raises(ValueError, match="did you mean 'shift_px'.*bare_board_defects.realistic"):
        _settings(realistic={"shift": [1, 2]}).nuisance_model()
