"""Pose-defect data paired with good images (the PCBA documents' structural-defect runs).

Run with the same ``run_name`` as ``good_image``: the good run's ROI crops say which
components exist and where their windows are; the structural run perturbs those components
in a copy of the board USD, renders only their scan cells on the good run's grid, crops them
with the good run's crop config, and pairs each defect crop with its good ``normal_img`` by
file stem (``<cell>__<NNNN>``) and material.
"""

from __future__ import annotations

import logging
import posixpath
import uuid
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from sdg_factory.backends.render import RenderBackend, build_render_backend, chosen_render_settings
from sdg_factory.cookbooks import CookbookError, require
from sdg_factory.fingerprints import reads_parameters
from sdg_factory.imaging.roi_crop import CropConfig
from sdg_factory.imaging.semantic_colors import split_classes
from sdg_factory.pcb.board_cookbooks import ASSETS
from sdg_factory.pcb.render import CellSpec, semantic_palette
from sdg_factory.pcb.structural import (
    MODES,
    StructuralDefectError,
    anchor_centres_world,
    component_geometry,
    component_root,
    moving_points,
    perturbed_stage,
    pose_delta,
)
from sdg_factory.pcb.structural_render import render_and_crop
from sdg_factory.pcb.usd_scene import load_primitives
from sdg_factory.seeding import item_rng

logger = logging.getLogger(__name__)

PARAMS = "conf/base/parameters_structural_defect.yml"
GOOD_RUN_HINT = ("run `kedro run --pipeline=good_image --params run_name=<the same run_name>` first, so the "
                 "structural run has good crops to perturb and pair with")


def structural_stem(cell: str, good_stem: str) -> str:
    """The file stem shared by a structural crop and its good pair: ``<cell>__<NNNN>``."""
    return f"{cell}__{good_stem}"


# --- 1. which component each good ROI shows -----------------------------------------------------


def _anchor_rows(cell, classes: set[str]) -> list[tuple[str, tuple[int, int, int, int]]]:
    rows = []
    for row, path in zip(cell.boxes, cell.prim_paths, strict=False):
        label = cell.box_labels.get(str(int(row["semanticId"])), {}).get("class", "")
        if set(split_classes(label)) & classes:
            rows.append((path, (int(row["x_min"]), int(row["y_min"]), int(row["x_max"]), int(row["y_max"]))))
    return rows


def _inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def match_good_rois(roi_crops: dict[str, Callable], good_roi_records: dict[str, Callable],
                    render_cells: dict[str, Callable], day0_crop: dict) -> list[dict]:
    """Each good ROI with its component: the anchor prim (from the good render's tight boxes and
    prim paths) whose box centre lies in the ROI's component box; the component is its parent.

    ``roi_crops`` (the good crop tree) is what exists; ``good_roi_records`` (its per-cell
    records) say where each ROI's window and component box are.
    """
    if not roi_crops:
        raise FileNotFoundError(f"no good ROI crops in this run (usd2roi-components/crop/): {GOOD_RUN_HINT}")
    recorded = {r["partition_id"] for load in good_roi_records.values() for r in load().get("rois", [])}
    unrecorded = sorted(set(roi_crops) - recorded)
    if unrecorded:
        raise FileNotFoundError(
            f"good crops {unrecorded[:5]} have no record in usd2roi-components/crop/.cells/: the good run's crop "
            "stage did not finish; re-run good_image with the same run_name to complete it"
        )
    classes = set(CropConfig.from_cookbook(day0_crop).classes)
    candidates = []
    for cell_name, load_records in sorted(good_roi_records.items()):
        rois = load_records().get("rois", [])
        if not rois:
            continue
        if cell_name not in render_cells:
            raise FileNotFoundError(f"good crops exist for cell {cell_name} but its render does not: {GOOD_RUN_HINT}")
        anchors = _anchor_rows(render_cells[cell_name](), classes)  # its boxes and paths, no image decoded
        for roi in rois:
            if roi["partition_id"] not in roi_crops:
                continue  # recorded but its files are gone: nothing to pair with
            material, cell, good_stem = roi["partition_id"].split("/")
            box = roi.get("component_bbox_xyxy") or roi["bbox_xyxy"]
            inside = [(path, b) for path, b in anchors if _inside(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), box)]
            if not inside:
                logger.warning("good ROI %s shows no anchor prim of %s in the render; skipped", roi["partition_id"],
                               sorted(classes))
                continue
            anchor, _ = max(inside, key=lambda pb: (pb[1][2] - pb[1][0] + 1) * (pb[1][3] - pb[1][1] + 1))
            candidates.append({
                "material": material, "cell": cell, "good_stem": good_stem,
                "stem": structural_stem(cell, good_stem), "class_name": roi.get("class_name", ""),
                "good_bbox_xyxy": [int(v) for v in roi["bbox_xyxy"]],
                "anchor_prim": anchor, "prim_path": component_root(anchor),
            })
    return candidates


# --- 2. the plan: which components, which pose delta --------------------------------------------


def _board_stage(pcb_usd_assets: dict[str, Callable], pcba_target: dict, board: str) -> Callable[[], Any]:
    key = f"{board}/{posixpath.basename(str(pcba_target['scene']))}"
    if key not in pcb_usd_assets:
        raise FileNotFoundError(
            f"no USD {ASSETS}/{key} (published: {sorted(k for k in pcb_usd_assets if k.startswith(board + '/'))}); "
            "run `kedro run --pipeline=pcba_setup`, and use the board and scene_filename of the good run"
        )
    return pcb_usd_assets[key]


def _mode_params(params: dict) -> dict[str, dict]:
    require(params, ["modes", "fixed_classes"], PARAMS + " (structural_defect)")
    modes = params["modes"] or {}
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise CookbookError(f"{PARAMS}: structural_defect.modes has unknown mode(s) {unknown}; use {list(MODES)}")
    keys = {"shift": ["translate_mm", "rotate_deg"], "tombstone": ["lift_deg"], "sideflip": ["roll_deg"]}
    enabled = {m: dict(v or {}) for m, v in modes.items() if v is not None and (v or {}).get("enabled", True)}
    for mode, ranges in enabled.items():
        require(ranges, keys[mode], f"{PARAMS} (structural_defect.modes.{mode})")
    return enabled


def _eligible(mode: str, ranges: dict, candidate: dict, geometry) -> bool:
    classes = ranges.get("classes")
    if classes and candidate["class_name"] not in classes:
        return False
    if mode == "sideflip":
        # a part with a square cross-section looks the same rolled on its side from above
        return geometry.section_aspect_change() >= float(ranges.get("min_aspect_change", 0.0))
    return True


def plan_structural_defects(candidates: list[dict], pcb_usd_assets: dict[str, Callable], pcba_target: dict,
                            day0_image: dict, board: str, params: dict, seed: int) -> list[dict]:
    """Per mode: the components to perturb (a seeded draw of the eligible good ROIs) and each one's
    pose delta (drawn from the mode's ranges with the item's own seed)."""
    modes = _mode_params(params)
    stage = _board_stage(pcb_usd_assets, pcba_target, board)()
    labels = {p.path: p.labels for p in load_primitives(stage, day0_image.get("semantics") or [])}
    fixed = set(params["fixed_classes"] or [])
    geometries = {c["anchor_prim"]: component_geometry(stage, c["anchor_prim"], labels, fixed) for c in candidates}
    plan = []
    for mode, ranges in modes.items():
        eligible = sorted((c for c in candidates if _eligible(mode, ranges, c, geometries[c["anchor_prim"]])),
                          key=lambda c: (c["stem"], c["material"]))
        count = len(eligible) if ranges.get("count") in (None, "", "null") else int(ranges["count"])
        order = item_rng(seed, f"structural_defect/{mode}").permutation(len(eligible))
        taken: set[str] = set()
        chosen = 0
        for index in order:
            candidate = eligible[index]
            if chosen >= count or candidate["stem"] in taken or candidate["prim_path"] in taken:
                continue  # one material per stem (the files of a mode share one folder), one pose per part
            taken |= {candidate["stem"], candidate["prim_path"]}
            chosen += 1
            plan.append(_plan_item(stage, mode, ranges, candidate, geometries[candidate["anchor_prim"]], seed))
        if not chosen:
            logger.warning("structural_defect: no component is eligible for %s (of %d good ROIs)", mode,
                           len(candidates))
    return sorted(plan, key=lambda r: (r["mode"], r["stem"]))


def _plan_item(stage, mode: str, ranges: dict, candidate: dict, geometry, seed: int) -> dict:
    delta = pose_delta(mode, geometry, moving_points(stage, geometry), item_rng(seed, f"{mode}/{candidate['stem']}"),
                       ranges)
    matrix = delta.pop("matrix")
    before, after = anchor_centres_world(stage, geometry, matrix)
    return {
        **candidate, "mode": mode,
        "pose_delta": {"frame": "component", "matrix": np.round(matrix, 9).tolist(),
                       **{k: _rounded(v) for k, v in delta.items()}},
        "moving_prims": list(geometry.moving),
        "body_size_mm": _rounded(list(geometry.body_size)),
        "anchor_center_world_mm": _rounded(before),
        "anchor_center_world_mm_defect": _rounded(after),
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# --- 3. the perturbed USD, one per mode ------------------------------------------------------------


def perturbed_board(load_board: Callable[[], Any], mode: str, items: list[dict]) -> Any:
    """A copy of the board (a ``Usd.Stage``) with every planned component of ``mode`` in its defect pose."""
    return perturbed_stage(load_board(), mode,
                           [(item["prim_path"], item["moving_prims"], item["pose_delta"]["matrix"]) for item in items])


def perturb_board_usd(plan: list[dict], pcb_usd_assets: dict[str, Callable], pcba_target: dict,
                      board: str) -> dict[str, Callable]:
    """One lazy perturbed stage per mode (``structural_defect/usd/<mode>.usda``)."""
    load_board = _board_stage(pcb_usd_assets, pcba_target, board)
    by_mode: dict[str, list[dict]] = defaultdict(list)
    for item in plan:
        by_mode[item["mode"]].append(item)
    return {mode: partial(perturbed_board, load_board, mode, items) for mode, items in sorted(by_mode.items())}


# --- 4. render the affected cells and crop ------------------------------------------------------


class PerturbedBoard:
    """The perturbed board of one mode and its primitives, read once per process.

    Every (mode, cell) job of a mode renders from the same board; loading and triangulating the
    whole USD took ~90 % of a job's CPU, once per cell. ``key`` is unique to one node call, so
    a process (a pool worker, or the node's own for the serial executor) keeps the last board it
    read and reuses it only for the jobs of that same call and mode."""

    _last: tuple[str, Any, list] | None = None  # (key, stage, primitives) of this process

    def __init__(self, load_stage: Callable[[], Any], globs: list[dict], key: str) -> None:
        self.load_stage, self.globs, self.key = load_stage, globs, key

    def __call__(self) -> tuple[Any, list]:
        last = PerturbedBoard._last
        if last is None or last[0] != self.key:
            PerturbedBoard._last = None  # the previous board is freed before the next is read
            stage = self.load_stage()
            last = PerturbedBoard._last = (self.key, stage, load_primitives(stage, self.globs))
        return last[1], last[2]


def render_structural_job(board: PerturbedBoard, mode: str, spec: CellSpec,
                          items: list[dict], ids: dict[str, int], colors: dict[int, tuple], seed: int,
                          cfg: CropConfig, backend: RenderBackend | None = None):
    stage, prims = board()
    unknown = sorted({",".join(p.labels) for p in prims if p.labels} - set(ids))
    if unknown:
        raise StructuralDefectError(
            f"the perturbed {mode} board has labels {unknown} the good render never assigned an id; "
            "re-run good_image on the same board so both renders share one palette"
        )
    rendered = None if backend is None else backend.cells([spec], prims, ids, colors, seed, stage)[spec.cell]()
    return render_and_crop(mode, spec, prims, items, ids, colors, seed, cfg, rendered)


@reads_parameters(pcba_render=chosen_render_settings)
def render_structural_cells(structural_usd: dict[str, Callable], plan: list[dict], render_metadata: dict,
                            day0_image: dict, day0_crop: dict, seed: int, render_backend: str = "rasterizer",
                            pcba_render: dict | None = None) -> dict[str, Callable]:
    """One lazy render + crop per (mode, affected cell), on the good run's scan grid and palette,
    rendered by ``render_backend`` (settings ``pcba_render.<backend>``) as the good run's cells are."""
    require(render_metadata, ["cells", "scan_grid.resolution", "semantic_ids"],
            "usd2roi-components/trigger_0000/metadata.json (the good run's render)")
    backend = build_render_backend(render_backend, pcba_render)
    good_backend = render_metadata.get("render_backend")
    if good_backend and good_backend != backend.name:
        logger.warning("structural_defect renders with render_backend=%s but the good run's cells were rendered "
                       "with %s: good and defect crops will differ in shading as well as in the defect; pass "
                       "the good run's render_backend", backend.name, good_backend)
    width, height = (int(v) for v in render_metadata["scan_grid"]["resolution"])
    ids = {str(k): int(v) for k, v in render_metadata["semantic_ids"].items()}
    colors = semantic_palette(ids, int(day0_image.get("semantic_palette_seed", seed)))
    cfg = CropConfig.from_cookbook(day0_crop)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for item in plan:
        groups[(item["mode"], item["cell"])].append(item)
    call = uuid.uuid4().hex  # the jobs of this call share each mode's board (PerturbedBoard)
    boards: dict[str, PerturbedBoard] = {}
    jobs = {}
    for (mode, cell), items in sorted(groups.items()):
        if mode not in structural_usd:
            raise FileNotFoundError(f"structural_defect/usd/{mode}.usda was not written; see the run's log")
        if mode not in boards:
            boards[mode] = PerturbedBoard(structural_usd[mode], day0_image.get("semantics") or [], f"{call}/{mode}")
        rect = render_metadata["cells"][cell]["world_rect_xxyy"]
        spec = CellSpec(cell, tuple(float(v) for v in rect), width, height)
        jobs[f"{mode}/{cell}"] = partial(render_structural_job, boards[mode], mode, spec, items, ids, colors,
                                         int(seed), cfg, backend)
    return jobs


# --- 5. labels and pairs ----------------------------------------------------------------------------

LABEL_KEYS = ("mode", "material", "cell", "stem", "good_stem", "class_name", "prim_path", "anchor_prim",
              "pose_delta", "bbox_xyxy", "good_bbox_xyxy", "component_bbox_xyxy", "aligned", "area", "coverage",
              "anchor_area", "body_size_mm", "anchor_center_world_mm", "anchor_center_world_mm_defect", "rgb", "mask")


def collect_structural_labels(structural_crops: dict[str, Callable]) -> tuple[list[dict], dict[str, dict]]:
    """``labels.jsonl`` (one record per written crop) and the merged semantic labels of the renders."""
    labels, merged, skipped = [], {}, []
    for _pid, load in sorted(structural_crops.items()):
        cell = load()
        merged.update(cell["semantic_labels"])
        labels += [{k: r[k] for k in LABEL_KEYS if k in r} for r in cell["crops"]]
        skipped += [{**s, "mode": cell["mode"], "cell": cell["cell"]} for s in cell["skipped"]]
    for item in skipped:
        logger.warning("structural_defect: %s %s (%s) not cropped: %s", item["mode"], item["stem"], item["prim_path"],
                       item["reason"])
    if not labels:
        raise StructuralDefectError(
            "structural_defect wrote no crop" + (f": {skipped}" if skipped else " (no component was planned)")
            + f". Check the good run's crops and the mode ranges in {PARAMS}"
        )
    return sorted(labels, key=lambda r: (r["mode"], r["stem"], r["material"])), dict(sorted(merged.items()))


def pair_with_good_images(structural_labels: list[dict], roi_crops: dict[str, Callable]) -> list[dict]:
    """Join each structural crop with the good ``normal_img`` of the same stem and material.

    The trees differ (``usd2roi-components/crop/<MAT>/<cell>/normal_img/<NNNN>.png`` versus
    ``structural_defect/cropped/<mode>/rgb/<cell>__<NNNN>.png``), so the join key is the stem
    ``<cell>__<NNNN>`` plus the material. Paths are relative to the run folder.
    """
    good = {}
    for pid in roi_crops:
        material, cell, stem = pid.split("/")
        good[(structural_stem(cell, stem), material)] = (material, cell, stem)
    pairs, missing = [], []
    for label in structural_labels:
        key = (label["stem"], label["material"])
        if key not in good:
            missing.append(f"{label['mode']}/{label['stem']} ({label['material']})")
            continue
        material, cell, stem = good[key]
        gx0, gy0 = label["good_bbox_xyxy"][:2]
        dx0, dy0 = label["bbox_xyxy"][:2]
        pairs.append({
            "mode": label["mode"], "stem": label["stem"], "material": material, "cell": cell,
            "class_name": label.get("class_name", ""), "prim_path": label["prim_path"],
            "normal_img": f"usd2roi-components/crop/{material}/{cell}/normal_img/{stem}.png",
            "cad_mask": f"usd2roi-components/crop/{material}/{cell}/cad_mask/{stem}_cad_mask.png",
            "defect_rgb": f"structural_defect/cropped/{label['rgb']}",
            "defect_mask": f"structural_defect/cropped/{label['mask']}",
            "good_bbox_xyxy": label["good_bbox_xyxy"], "defect_bbox_xyxy": label["bbox_xyxy"],
            "aligned": bool(label.get("aligned")),
            "good_offset_in_defect_xy": [gx0 - dx0, gy0 - dy0],
        })
    if missing:
        raise StructuralDefectError(
            f"{len(missing)} structural crop(s) have no good normal_img of the same stem and material: "
            f"{missing[:10]}. The good run's crops changed since this run's plan: {GOOD_RUN_HINT} and re-run "
            "structural_defect into a fresh run_name"
        )
    return pairs
