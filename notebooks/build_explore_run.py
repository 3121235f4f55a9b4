"""Writes ``explore_run.ipynb`` from the cells below (edit here, then run this script).

The notebook is kept as generated source so that a review reads plain Python; the test
``tests/test_notebook.py`` executes the ``.ipynb`` on a finished smoke run.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    ("md", """# Explore a finished run

This notebook opens the outputs of a finished `kedro run` **through the Kedro catalog**, the same
way the pipelines read them: clean ROI crops, texture defects with their masks and labels, the
detected defect regions and the evaluation metrics.

1. Run the default job first (from the project root): `make run` (or `kedro run`). It writes
   `data/dig/runs/demo/…`.
2. Start Jupyter from the project (`.venv/bin/jupyter lab` or VS Code) and run all cells.

To look at another run or environment, change `ENV` / `RUN_NAME` below, e.g. `ENV = "smoke"` or
`RUN_NAME = "my_run"` for a run made with `kedro run --params run_name=my_run`. Nothing here writes."""),
    ("code", """# parameters
ENV = None          # None = base + local (what `kedro run` uses); "smoke", "gpu", "cloud", ...
RUN_NAME = "demo"   # the run_name the pipelines wrote (conf/base/globals.yml: run_name)
SHOW = 6            # how many examples per section""", ["parameters"]),
    ("md", """## Open the project's catalog
`%load_ext kedro.ipython` followed by `%reload_kedro` gives the same `catalog`; the explicit
calls below also work in a plain Python script."""),
    ("code", """%matplotlib inline
import logging
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

project = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "pyproject.toml").exists() and (p / "conf").exists())
bootstrap_project(project)
session = KedroSession.create(project_path=project, env=ENV, runtime_params={"run_name": RUN_NAME})
catalog = session.load_context().catalog
logging.getLogger("kedro").setLevel(logging.WARNING)  # no "Loading data from …" line per load
print(f"project {project}, env {ENV or 'base+local'}, run {RUN_NAME!r}")"""),
    ("md", "Which of the run's outputs exist on disk (a missing one: that pipeline has not run yet)."),
    ("code", """WANTED = ["roi_crops", "crop_summary", "anomaly_images", "anomaly_masks", "anomaly_labels",
          "anomaly_summary", "defects.defects_jsonl", "defects.masks_png", "defects.metrics"]
present = {name: catalog.exists(name) for name in WANTED}
pd.DataFrame({"dataset": list(present), "on disk": list(present.values())})"""),
    ("md", """## Clean ROI crops (`good_image`)
`roi_crops` loads lazily: a dict of partition id → loader. Each ROI carries the image and its
colourised CAD mask, cropped with the same window, so they are pixel-aligned."""),
    ("code", """crops = catalog.load("roi_crops")
print(f"{len(crops)} ROIs, e.g. {sorted(crops)[:3]}")
ids = sorted(crops)[:SHOW]
fig, axes = plt.subplots(2, len(ids), figsize=(2.2 * len(ids), 4.6), squeeze=False)
for col, pid in enumerate(ids):
    roi = crops[pid]()
    assert roi.normal_img.shape[:2] == roi.cad_mask.shape[:2], pid
    axes[0, col].imshow(roi.normal_img[..., :3]); axes[0, col].set_title(f"{roi.material}\\n{roi.cell}/{roi.stem}", fontsize=7)
    axes[1, col].imshow(roi.cad_mask[..., :3])
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()"""),
    ("md", """## Texture defects: images, masks, labels (`texture_defect_day0`)
Images and masks share partition ids (`<MATERIAL>/<cell>__<stem>__<defect>`); `labels.jsonl`
has one record per image. The overlay draws the mask's outline on the image."""),
    ("code", """import cv2

images, masks = catalog.load("anomaly_images"), catalog.load("anomaly_masks")
labels = pd.DataFrame(catalog.load("anomaly_labels"))
print(f"{len(images)} defect images, {len(masks)} masks, {len(labels)} label records")
labels[["partition_id", "material", "cell", "defect_type", "area", "bbox_xyxy"]].head(SHOW)"""),
    ("code", """ids = list(labels["partition_id"][:SHOW])
fig, axes = plt.subplots(1, len(ids), figsize=(2.4 * len(ids), 3), squeeze=False)
for ax, pid in zip(axes[0], ids):
    image, mask = images[pid]()[..., :3].copy(), masks[pid]()
    assert image.shape[:2] == mask.shape[:2], pid
    contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(image, contours, -1, (255, 0, 255), 1)
    record = labels.set_index("partition_id").loc[pid]
    x1, y1, x2, y2 = record["bbox_xyxy"]
    cv2.rectangle(image, (x1, y1), (x2, y2), (0, 255, 0), 1)
    ax.imshow(image); ax.set_title(f"{record['defect_type']}\\narea {record['area']}", fontsize=8); ax.axis("off")
plt.tight_layout()"""),
    ("md", """## Detected defect regions (`anomaly_detection` → `defects_export`)
`defects.jsonl` follows the export document: per input an image score and label, and a `defects`
block with the pixel threshold (and how it was chosen), the binary mask and the regions. Below:
the predicted mask's outline (yellow) and each region's box (red) on the defect image."""),
    ("code", """records = catalog.load("defects.defects_jsonl")
rows = [{"input": r["input"], "label": r["label"], "score": r["score"], "regions": len(r["defects"]["regions"]),
         "largest_area": max((g["area"] for g in r["defects"]["regions"]), default=0)} for r in records]
regions = pd.DataFrame(rows)
print("pixel threshold", records[0]["defects"]["pixel_threshold"], records[0]["defects"]["pixel_threshold_provenance"]["method"])
regions.head(2 * SHOW)"""),
    ("code", """predicted = catalog.load("defects.masks_png")
shown = [r for r in records if r["defects"]["regions"]][:SHOW]
fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(2.4 * max(len(shown), 1), 3), squeeze=False)
for ax, record in zip(axes[0], shown):
    pid = record["defects"]["mask"]["path"].split("/masks/", 1)[1].rsplit(".", 1)[0]
    mask = predicted[pid]()  # ids: defect/<anomaly image id> and good/<id>
    kind, _, image_id = pid.partition("/")
    view = images[image_id]()[..., :3].copy() if kind == "defect" else np.dstack([mask] * 3)
    contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(view, contours, -1, (255, 255, 0), 1)
    for region in record["defects"]["regions"]:
        x1, y1, x2, y2 = region["bbox_xyxy"]
        cv2.rectangle(view, (x1, y1), (x2, y2), (255, 0, 0), 1)
    ax.imshow(view); ax.set_title(f"{Path(record['input']).stem[:22]}\\nscore {record['score']:.2f}", fontsize=7); ax.axis("off")
plt.tight_layout()"""),
    ("md", "## Metrics\nImage/pixel AUROC, AUPRO, region recall and mask IoU against the known synthetic masks."),
    ("code", """metrics = catalog.load("defects.metrics")
headline = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
per_type = pd.DataFrame(metrics.get("per_defect_type", {})).T
display(pd.Series(headline, name="value").to_frame())
if len(per_type):
    per_type[["region_recall", "mean_iou"]].plot.bar(figsize=(5, 3), ylim=(0, 1), title="per defect type")
per_type"""),
    ("md", """## Where next
- `kedro viz run` (or `make viz`) shows the lineage with previews of these datasets.
- `docs/formats.md` describes every file used above; `docs/troubleshooting.md` lists each error
  message with its fix."""),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for kind, source, *tags in CELLS:
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags[0]
        cells.append(cell)
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


if __name__ == "__main__":
    target = Path(__file__).with_name("explore_run.ipynb")
    nbformat.write(build(), target)
    print(f"wrote {target}")
