"""kedro-viz builds the lineage offline, with image previews for the image datasets."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from tests.kedro_runner import PROJECT_ROOT, prepare_conf, run_pipeline

IMAGE_DATASETS = {"roi_crops", "render_cells", "pcb_raw_submasks"}


def test_viz_build_includes_lineage_and_image_previews(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)
    shutil.copytree(PROJECT_ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    prepare_conf(project)
    run_pipeline("pcba_setup", cwd=project)
    run_pipeline("good_image", cwd=project)

    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(project / "src")}
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run([str(kedro), "viz", "build", "--include-previews"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    api = project / "build" / "api"
    main = json.loads((api / "main").read_text())
    names = {n["name"]: n for n in main["nodes"]}
    assert {"render_scan_grid", "crop_rois", "publish_demo_boards"} <= set(names)
    assert any(e["source"] == names["render_cells"]["id"] for e in main["edges"])  # render → crop lineage
    for name in IMAGE_DATASETS:
        node = json.loads((api / "nodes" / names[name]["id"]).read_text())
        assert node["preview_type"] == "ImagePreview", name
        png = cv2.imdecode(np.frombuffer(base64.b64decode(node["preview"]), np.uint8), cv2.IMREAD_COLOR)
        assert png is not None and png.shape[0] > 32, name
    assert names["render_cells"]["layer"] == "intermediate"
