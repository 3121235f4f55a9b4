"""The newcomer's notebook runs top to bottom on a finished run, through the Kedro catalog."""

from __future__ import annotations

import base64
import json

import cv2
import nbformat
import numpy as np
from nbclient import NotebookClient

from tests.kedro_runner import PROJECT_ROOT, project_copy, run_pipeline

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_run.ipynb"
PIPELINES = ("pcba_setup", "good_image", "texture_defect_day0", "anomaly_detection", "defects_export")


def _set_parameters(nb: nbformat.NotebookNode, **values) -> None:
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += "\n" + "\n".join(f"{key} = {value!r}" for key, value in values.items())


def _outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result", "stream")]


def test_notebook_is_generated_from_its_builder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_explore_run", NOTEBOOK.with_name("build_explore_run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = [c.source for c in module.build().cells]
    assert built == [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells], \
        "notebooks/explore_run.ipynb is stale: run `.venv/bin/python notebooks/build_explore_run.py`"


def test_notebook_shows_images_masks_labels_and_metrics_of_a_finished_run(tmp_path, monkeypatch):
    project = project_copy(tmp_path / "project")
    for pipeline in PIPELINES:
        run_pipeline(pipeline, env="smoke", params={"run_name": "nb"}, cwd=project)
    run = project / "data/dig/runs/nb"

    nb = nbformat.read(NOTEBOOK, as_version=4)
    _set_parameters(nb, ENV="smoke", RUN_NAME="nb", SHOW=3)
    (project / "notebooks").mkdir()
    monkeypatch.setenv("PYTHONPATH", str(project / "src"))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(project / "notebooks")}}).execute()

    text = "\n".join(json.dumps(o) for c in nb.cells for o in _outputs(c))
    assert "Traceback" not in text and "error" not in {o["output_type"] for c in nb.cells for o in c.get("outputs", [])}
    # the counts the notebook prints are the files on disk
    n_rois = len(list((run / "usd2roi-components/crop").glob("*/*/normal_img/*.png")))
    n_defects = len(list((run / "anomaly/images").rglob("*.png")))
    n_labels = len((run / "anomaly/labels.jsonl").read_text().splitlines())
    assert n_rois and n_defects
    assert f"{n_rois} ROIs" in text
    assert f"{n_defects} defect images, {n_defects} masks, {n_labels} label records" in text
    threshold = json.loads((run / "defects/thresholds.json").read_text())["pixel_threshold"]
    assert f"pixel threshold {threshold}" in text
    # every dataset the notebook is about was found on disk
    presence = next(c for c in nb.cells if "present = " in c.source)
    assert "False" not in json.dumps(_outputs(presence))
    # the figures are real pictures: ROI crops, defect overlays, detected regions, metrics chart
    pngs = [o["data"]["image/png"] for c in nb.cells for o in _outputs(c) if "image/png" in o.get("data", {})]
    assert len(pngs) >= 4
    for png in pngs:
        image = cv2.imdecode(np.frombuffer(base64.b64decode(png), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 100 and image.std() > 5
    # the metrics table shows the run's metrics.json values
    metrics = json.loads((run / "defects/metrics.json").read_text())
    assert f"{metrics['image_auroc']:.6f}"[:5] in text
