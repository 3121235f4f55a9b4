"""good_image (setup, render, crop, restyle) on a 4x3 and a 10x10 board: time and peak memory.

Each size is a fresh ``kedro run --pipeline good_image`` in a child process on a copy of
``conf/base`` whose demo board 0603_H100 has that scan grid (and a board and component layout
grown with it, so every tile holds parts). Memory must stay flat as the board grows: items are
lazy loaders and savers, computed a few at a time by the pool.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

from benchmarks.bench_profile import profiled_run, project_copy

BOARD = "0603_H100"


def _resize_board(project: Path, x: int, y: int) -> None:
    path = project / "conf" / "base" / "parameters_pcba.yml"
    doc = yaml.safe_load(path.read_text())
    board = doc["pcba_setup"]["boards"][BOARD]
    board["layout"]["size_mm"] = [10 * x, 10 * y]
    board["layout"]["design_grid"] = [x, y]
    board["cookbooks"]["day0_image"]["scan_grid"].update(x_num=x, y_num=y)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def run() -> dict:
    figures = {}
    for x, y in ((4, 3), (10, 10)):
        work = Path(tempfile.mkdtemp(prefix="sdg-scale-"))
        try:
            project = project_copy(work / "project")
            _resize_board(project, x, y)
            profiled_run(project, work / "setup.json", "pcba_setup")  # publishes the boards (not counted)
            figures[(x, y)] = profiled_run(project, work / "profile.json", "good_image")
            figures[(x, y)]["rois"] = len(list((project / "data").rglob("augment/crop/*/*/*.png")))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    small, big = figures[(4, 3)], figures[(10, 10)]
    return {
        "title": "good_image as the board grows: 4x3 vs 10x10 tiles",
        "what": f"`kedro run --pipeline good_image` (board {BOARD}, embedded defaults, fresh folder) with a 4x3 "
                "and a 10x10 scan grid (board and component layout grown with it); peak memory is the largest "
                "process of the run (the node process or a pool worker).",
        "rows": [
            {"case": f"peak memory, 100 tiles ({big['rois']} ROIs) vs 12 tiles ({small['rois']} ROIs)",
             "ours": big["peak_rss_mb"], "peer": small["peak_rss_mb"], "unit": "MB",
             "ratio": big["peak_rss_mb"] / small["peak_rss_mb"], "target": "<= 1.2 (lower is better)"},
            {"case": "wall time, 100 tiles vs 12 tiles", "ours": big["process_wall_s"],
             "peer": small["process_wall_s"], "unit": "s",
             "ratio": big["process_wall_s"] / small["process_wall_s"], "target": "(100/12 = 8.3 is linear)"},
        ],
        "notes": ["Whole processes, start-up included (about the same at both sizes), so the time ratio is "
                  "below the tile ratio; the memory ratio is the one with a target."],
    }
