"""pads_in_window converts every board polygon in one array: the polygons it keeps are the ones a
conversion per polygon keeps (issue 18: bare-board pairs byte-identical to before)."""

from __future__ import annotations

import numpy as np
import yaml

from sdg_factory.imaging.bare_board import pads_in_window, to_crop_pixels
from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pcb.copper import board_copper
from tests.kedro_runner import PROJECT_ROOT


def _one_by_one(polygons, origin, ppm, shape):  # the implementation before (main at b03dedd)
    h, w = shape
    out = []
    for k, poly in enumerate(polygons):
        px = to_crop_pixels(poly, origin, ppm)
        if px[:, 0].max() >= 0 and px[:, 0].min() < w and px[:, 1].max() >= 0 and px[:, 1].min() < h:
            out.append(k)
    return out


def test_the_polygons_of_a_window_are_those_of_a_conversion_per_polygon():
    spec = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_pcba.yml").read_text())["pcba_setup"]["boards"]
    copper = board_copper(build_board_stage("0603_H100", spec["0603_H100"]["layout"], 3))
    lists = [copper.polygons, [line for line, _ in copper.traces], list(copper.holes)]
    assert min(len(polygons) for polygons in lists) > 10
    xmin, xmax, ymin, ymax = copper.bounds
    rng = np.random.default_rng(0)
    kept = 0
    for _ in range(40):
        origin = (float(rng.uniform(xmin - 5, xmax)), float(rng.uniform(ymin, ymax + 5)))
        for polygons in lists:
            inside = pads_in_window(polygons, origin, 48.0, (640, 480))
            assert inside == _one_by_one(polygons, origin, 48.0, (640, 480))
            kept += len(inside)
    assert kept > 0


def test_edges_and_mixed_polygons_keep_the_per_polygon_rule():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    polygons = [square, square + 10, square - [1.0 + 1e-12, 0.0], square.astype(np.float32) + 0.5]
    for origin in ((0.0, 1.0), (-0.5, 0.5), (10.0, 11.0)):
        assert pads_in_window(polygons, origin, 4.0, (8, 8)) == _one_by_one(polygons, origin, 4.0, (8, 8))
        same_dtype = polygons[:3]
        assert pads_in_window(same_dtype, origin, 4.0, (8, 8)) == _one_by_one(same_dtype, origin, 4.0, (8, 8))
    assert pads_in_window([], (0.0, 0.0), 4.0, (8, 8)) == []


def test_marching_off_own_copper_reads_the_same_on_a_boolean_map():
    from sdg_factory.imaging.bare_board import _march

    rng = np.random.default_rng(1)
    small = rng.integers(0, 4, (64, 64)).astype(np.uint16)
    small[20:40, 20:40] = 2
    hits = 0
    for _ in range(200):
        start, angle = rng.uniform(0, 64, 2), rng.uniform(0, 2 * np.pi)
        n, net = np.array([np.cos(angle), np.sin(angle)]), int(small[int(start[1]), int(start[0])])
        old = _march(np.where(small == net, 0, 1).astype(np.uint8), start, n, 200)  # before (main at b03dedd)
        assert _march(small != net, start, n, 200) == old
        hits += old is not None
    assert hits > 50
