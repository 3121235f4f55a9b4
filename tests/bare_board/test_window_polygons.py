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


def test_nets_of_a_crops_copper_are_the_whole_crop_counts():
    import cv2

    from sdg_factory.imaging.bare_board import _draw_path, _draw_poly, layout_from_copper

    rng = np.random.default_rng(2)
    shape = (120, 160)
    polygons = [rng.uniform(-20, 180, 2) + rng.uniform(0, 25, (4, 2)) for _ in range(30)]
    traces = [(rng.uniform(-10, 170, (3, 2)), float(rng.uniform(1, 6))) for _ in range(12)]
    layout = layout_from_copper(polygons, traces, [], shape)
    union = np.zeros(shape, np.uint8)
    for poly in polygons:
        _draw_poly(union, poly, 1)
    for line, width in traces:
        _draw_path(union, line, width, 1)
    _, components = cv2.connectedComponents(union, connectivity=8)

    def old_net(draw):  # before (main at b03dedd): counted over the whole crop
        canvas = np.zeros(shape, np.uint8)
        draw(canvas)
        under = components[(canvas > 0) & (components > 0)]
        return int(np.bincount(under).argmax()) if under.size else int(components.max()) + 1

    assert [net for _, net in layout.pads] == [old_net(lambda c, p=p: _draw_poly(c, p, 1)) for p in polygons]
    from_lines = [t.net for t in layout.traces[-len(traces):]]
    assert from_lines == [old_net(lambda c, ln=ln, w=w: _draw_path(c, ln, w, 1)) for ln, w in traces]
    assert len({net for _, net in layout.pads}) > 3 and max(n for _, n in layout.pads) > components.max() - 1
