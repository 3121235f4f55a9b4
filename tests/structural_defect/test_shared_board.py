"""The structural jobs of one mode share one read of the perturbed board, with the same output,
and load_primitives' memoised labels are the per-prim ancestor walk's (issue 18: byte-identical)."""

from __future__ import annotations

import yaml
from pxr import Sdf, Usd, UsdGeom

from sdg_factory.backends.render.rasterizer import RasterizerBackend
from sdg_factory.imaging.roi_crop import CropConfig
from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pcb.render import scan_grid, semantic_ids, semantic_palette
from sdg_factory.pcb.structural_render import render_and_crop
from sdg_factory.pcb.usd_scene import _SEM_DATA, _glob_labels, load_primitives, scene_bounds
from sdg_factory.pipelines.structural_defect.nodes import PerturbedBoard, render_structural_job
from tests.kedro_runner import PROJECT_ROOT

BOARD = "0603_H100"
SPEC = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_pcba.yml").read_text())["pcba_setup"]["boards"][BOARD]
GLOBS = SPEC["cookbooks"]["day0_image"]["semantics"]


def _old_prim_labels(prim):  # the implementation before the memo (main at b03dedd)
    labels, types = [], {}
    for attr in prim.GetAttributes():
        name = attr.GetName()
        if name.endswith(":params:semanticType"):
            types[name.split(":")[1]] = str(attr.Get())
    for attr in prim.GetAttributes():
        name = attr.GetName()
        match = _SEM_DATA.match(name)
        if match and types.get(match.group(1), "class") == "class" and attr.Get():
            labels += [s.strip() for s in str(attr.Get()).split(",") if s.strip()]
        elif name == "semantics:labels:class" and attr.Get():
            labels += [str(s) for s in attr.Get()]
    return labels


def _old_labels(prim, globs):
    chain, node = [], prim
    while node and node.GetPath() != node.GetPath().absoluteRootPath:
        chain.append(node)
        node = node.GetParent()
    labels = []
    for node in reversed(chain):
        for label in _old_prim_labels(node) + _glob_labels(str(node.GetPath()), globs):
            if label not in labels:
                labels.append(label)
    return tuple(labels)


def _labelled_stage() -> Usd.Stage:
    """Every labelling style: Replicator semanticData (class and non-class types), the older
    ``semantics:`` prefix, USD's ``semantics:labels:class``, on prims and their ancestors."""
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(stage, "/W")
    group = UsdGeom.Xform.Define(stage, "/W/G").GetPrim()
    group.CreateAttribute("semantic:Semantics:params:semanticData", Sdf.ValueTypeNames.String).Set("board, pcb")
    for k, (prefix, kind) in enumerate([("semantic", "class"), ("semantics", "class"), ("semantic", "color")]):
        cube = UsdGeom.Cube.Define(stage, f"/W/G/C{k}")
        cube.AddTranslateOp().Set((k * 3.0, 0, 0))
        prim = cube.GetPrim()
        prim.CreateAttribute(f"{prefix}:S{k}:params:semanticType", Sdf.ValueTypeNames.String).Set(kind)
        prim.CreateAttribute(f"{prefix}:S{k}:params:semanticData", Sdf.ValueTypeNames.String).Set(f"part{k},pcb")
    cube = UsdGeom.Cube.Define(stage, "/W/G/C3").GetPrim()
    cube.CreateAttribute("semantics:labels:class", Sdf.ValueTypeNames.TokenArray).Set(["capacitor", "board"])
    return stage


def test_memoised_labels_are_the_ancestor_walks_labels():
    for stage, globs in ((_labelled_stage(), [{"prim_path": "/W/G/C1", "class": "glob"}]),
                         (build_board_stage(BOARD, SPEC["layout"], 3), GLOBS)):
        prims = load_primitives(stage, globs)
        assert prims and any(p.labels for p in prims)
        assert [p.labels for p in prims] == [_old_labels(stage.GetPrimAtPath(p.path), globs) for p in prims]
    labels = {p.path: p.labels for p in load_primitives(_labelled_stage(), [])}
    assert labels["/W/G/C0"] == ("board", "pcb", "part0") and labels["/W/G/C2"] == ("board", "pcb")
    assert labels["/W/G/C3"] == ("board", "pcb", "capacitor")


def test_jobs_of_one_call_read_the_board_once_and_write_what_a_read_per_job_wrote():
    stage = build_board_stage(BOARD, SPEC["layout"], 3)
    prims = load_primitives(stage, GLOBS)
    ids = semantic_ids(prims)
    colors = semantic_palette(ids, 11)
    cells = scan_grid(scene_bounds(prims), 3, 3, (160, 120))[:4]
    cfg = CropConfig(classes=tuple(sorted({c for text in ids for c in text.split(",")})), class_dirs={}, min_area=1,
                     edge_skip=False)
    reads = []

    def load_stage():
        reads.append(1)
        return stage

    def items_of(spec):  # an anchor prim of the cell's render, with a good window of its box
        cell = RasterizerBackend().cells([spec], prims, ids, colors, 5)[spec.cell]()
        row, path = cell.boxes[0], cell.prim_paths[0]
        box = [int(row["x_min"]), int(row["y_min"]), int(row["x_max"]), int(row["y_max"])]
        return [{"stem": f"{spec.cell}__0000", "anchor_prim": path, "prim_path": path, "good_bbox_xyxy": box}]

    board = PerturbedBoard(load_stage, GLOBS, "call-1/shift")
    for spec in cells:
        items = items_of(spec)
        new = render_structural_job(board, "shift", spec, items, ids, colors, 5, cfg, RasterizerBackend())
        rendered = RasterizerBackend().cells([spec], load_primitives(stage, GLOBS), ids, colors, 5, stage)[spec.cell]()
        old = render_and_crop("shift", spec, load_primitives(stage, GLOBS), items, ids, colors, 5, cfg, rendered)
        assert new.semantic_labels == old.semantic_labels and new.skipped == old.skipped
        assert [(c.stem, c.record, c.rgb.tobytes(), c.mask.tobytes()) for c in new.crops] == \
            [(c.stem, c.record, c.rgb.tobytes(), c.mask.tobytes()) for c in old.crops]
    assert len(reads) == 1
    assert any(render_structural_job(board, "shift", s, items_of(s), ids, colors, 5, cfg).crops for s in cells)
    render_structural_job(PerturbedBoard(load_stage, GLOBS, "call-2/shift"), "shift", cells[0], [], ids, colors, 5,
                          cfg, RasterizerBackend())
    assert len(reads) == 2  # another call (or mode) reads its own board
