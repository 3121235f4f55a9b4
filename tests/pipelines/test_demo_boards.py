"""The demo boards are assemblies: ICs and passives of every size on every board, placed by the
design rules (courtyards inside their cell, no overlaps), with traces and vias in the USD."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml
from pxr import Usd, UsdGeom

from sdg_factory.pcb.boards import (
    CENTERLINE_ATTR,
    IC_KINDS,
    build_board_stage,
    courtyard,
    layout,
    pad_outlines,
)
from sdg_factory.pcb.usd_scene import load_primitives
from tests.kedro_runner import PROJECT_ROOT

SEED = 20260224
BOARDS = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_pcba.yml").read_text())["pcba_setup"]["boards"]


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_layout_mixes_ics_and_passives_inside_their_cells(board):
    spec = BOARDS[board]["layout"]
    assert spec["design_grid"] == [10, 10]
    grid = BOARDS[board]["cookbooks"]["day0_image"]["scan_grid"]
    assert (grid["x_num"], grid["y_num"]) == (10, 10)
    placements = layout(board, spec, SEED)
    kinds = {p.kind for p in placements}
    assert kinds & set(IC_KINDS) and {"capacitor_0402", "resistor", "capacitor_0805"} <= kinds
    width, height = spec["size_mm"]
    tile_w, tile_h = width / 10, height / 10
    margin = spec["courtyard_mm"]
    boxes = [courtyard(p.kind, p.x, p.y, p.rot_z, margin) for p in placements]
    for place, box in zip(placements, boxes, strict=False):
        i, j = place.cell
        x0, y0 = i * tile_w - width / 2, j * tile_h - height / 2
        assert x0 - 1e-9 <= box[0] and box[1] <= x0 + tile_w + 1e-9, place
        assert y0 - 1e-9 <= box[2] and box[3] <= y0 + tile_h + 1e-9, place
    for (a, box_a), (b, box_b) in itertools.combinations(zip(placements, boxes, strict=False), 2):
        if a.cell == b.cell:
            assert not (box_a[0] < box_b[1] and box_b[0] < box_a[1] and box_a[2] < box_b[3] and box_b[2] < box_a[3]), \
                (a, b)
    # every scan cell holds parts; IC cells alternate as a checkerboard
    cells = {p.cell for p in placements}
    assert len(cells) == 100
    ic_cells = {p.cell for p in placements if p.kind in IC_KINDS}
    assert ic_cells and all((i + j) % 2 == 0 for i, j in ic_cells)


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_usd_carries_labelled_traces_and_vias_routed_from_pads(board):
    spec = BOARDS[board]
    stage = build_board_stage(board, spec["layout"], SEED)
    prims = load_primitives(stage, spec["cookbooks"]["day0_image"]["semantics"])
    traces = [p for p in prims if "trace" in p.labels]
    vias = [p for p in prims if "via" in p.labels]
    assert len(traces) > 100 and len(vias) > 10
    assert {p.material for p in traces} == {"copper"} and {p.material for p in vias} == {"copper", "hole"}
    # each trace starts on a pad: its first point lies inside one of the pads' rectangles
    pads = [outline for place in layout(board, spec["layout"], SEED) for outline in pad_outlines(place)]
    lows = np.array([o.min(axis=0) for o in pads])
    highs = np.array([o.max(axis=0) for o in pads])
    for prim in traces[:200]:
        line = np.array(stage.GetPrimAtPath(prim.path).GetAttribute(CENTERLINE_ATTR).Get())
        start = line[0]
        assert ((lows - 0.05 <= start) & (start <= highs + 0.05)).all(axis=1).any(), prim.path
        # the trace lies in the board plane, below the pads' tops
        assert prim.triangles[..., 2].max() < 0.035
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    assert isinstance(stage, Usd.Stage)
