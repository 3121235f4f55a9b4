"""pcb.render.prims_in: the primitives of a cell from their vertex bounds, computed once."""

from __future__ import annotations

import numpy as np

from sdg_factory.pcb.render import prim_bounds, prims_in
from sdg_factory.pcb.usd_scene import Primitive


def _each_prim(prims, rect):  # the test as it was: every primitive's vertices against the rectangle
    xmin, xmax, ymin, ymax = rect
    return [p for p in prims if p.triangles.size
            and p.triangles[..., 0].max() >= xmin and p.triangles[..., 0].min() <= xmax
            and p.triangles[..., 1].max() >= ymin and p.triangles[..., 1].min() <= ymax]


def test_the_same_primitives_in_the_same_order_as_testing_each_one():
    rng = np.random.default_rng(4)
    prims = []
    for k in range(300):
        centre = rng.uniform(0, 100, 2)
        tri = centre + rng.normal(0, rng.uniform(0.1, 6), (int(rng.integers(1, 9)) * 3, 2))
        triangles = np.concatenate([tri, rng.uniform(0, 2, (len(tri), 1))], axis=1).reshape(-1, 3, 3)
        prims.append(Primitive(f"/p{k}", ("part",), "m", (0.5, 0.5, 0.5), triangles))
    prims.insert(7, Primitive("/empty", (), "m", (0, 0, 0), np.zeros((0, 3, 3))))
    bounds = prim_bounds(prims)
    found = 0
    for _ in range(200):
        x0, y0 = rng.uniform(-10, 100, 2)
        rect = (x0, x0 + rng.uniform(0, 30), y0, y0 + rng.uniform(0, 30))
        expected = _each_prim(prims, rect)
        assert [p.path for p in prims_in(prims, rect, bounds)] == [p.path for p in expected]
        assert [p.path for p in prims_in(prims, rect)] == [p.path for p in expected]
        found += len(expected)
    assert 0 < found < 200 * len(prims)  # rectangles that hold some primitives, not all
    # a rectangle touching a vertex exactly counts it in (>= and <=), as before
    p = prims[0]
    edge = float(p.triangles[..., 0].max())
    assert p in prims_in(prims, (edge, edge + 1, -1e9, 1e9), bounds)
