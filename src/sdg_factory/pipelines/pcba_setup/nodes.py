"""The documents' ``setup_pcb``: the assets every PCBA pipeline reads, made here from a seed.

Writes under ``<dig_url_root>/datasets/pcb/``:

- ``assets/<board>/<scene_filename>`` — the board as a USD stage, and its cookbooks
  ``pcba_target.yaml``, ``day0_image.yaml`` (with its ``semantics:`` globs), ``day0_crop.yaml``;
- ``raw/<MATERIAL>/mask/<defect>/NNNN.png`` — defect sub-masks, and ``raw/defect_spec.jsonl``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sdg_factory.paths import check_segment
from sdg_factory.pcb.boards import build_board_stage
from sdg_factory.pcb.raw_defects import submask


def publish_demo_boards(boards: dict[str, dict], seed: int) -> tuple[dict[str, Any], dict[str, dict]]:
    """Each board's USD stage (lazy) and its three cookbooks, keyed ``<board>/<file>``."""
    stages, cookbooks = {}, {}
    for board, spec in boards.items():
        folder = check_segment(board, "board")
        scene = check_segment(spec.get("scene_filename", "spark_lighting.usd"), "scene file")
        stages[f"{folder}/{scene}"] = partial(build_board_stage, board, spec["layout"], int(seed))
        for name, doc in spec["cookbooks"].items():
            cookbooks[f"{folder}/{check_segment(name, 'cookbook')}"] = doc
    return stages, cookbooks


def publish_raw_defect_data(raw: dict[str, Any], seed: int) -> tuple[dict[str, Any], list[dict]]:
    """Sub-masks per (material, defect) (lazy) and the ``defect_spec.jsonl`` records."""
    masks, spec = {}, []
    for material in raw["materials"]:
        for defect, dependency in raw["defects"].items():
            folder = f"{check_segment(material, 'material')}/mask/{check_segment(defect, 'defect')}"
            for k in range(int(raw["per_defect"])):
                pid = f"{folder}/{k:04d}"
                masks[pid] = partial(submask, defect, int(raw["size"]), int(seed), pid)
            spec.append({"material": material, "defect_type": defect, "spatial_dependency": dependency,
                         "mask_dir": folder, "count": int(raw["per_defect"])})
    return masks, spec
