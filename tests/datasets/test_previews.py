"""kedro-viz previews, called directly on small saved datasets (the viz build test covers the wiring)."""

from __future__ import annotations

import base64
import importlib
import inspect
import json

import cv2
import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets import (
    ImageDataset,
    MetricsJSONDataset,
    NpyDataset,
    PartitionedDataset,
    PartitionedTableDataset,
)
from sdg_factory.datasets.masked_images import MaskedImageFolder
from sdg_factory.datasets.user_input import UserInputDataset

# what the kedro-viz 12 front end can draw (kedro_datasets._typing)
VIZ_TYPES = {"ImagePreview", "TablePreview", "JSONPreview", "PlotlyPreview", "HTMLPreview"}
PREVIEWING_CLASSES = [
    "sdg_factory.datasets.image:ImageDataset", "sdg_factory.datasets.jsonl:JSONLinesDataset",
    "sdg_factory.datasets.partitioned:PartitionedDataset", "sdg_factory.datasets.partitioned:PartitionedTableDataset",
    "sdg_factory.datasets.metrics_json:MetricsJSONDataset", "sdg_factory.datasets.masked_images:MaskedImageFolder",
    "sdg_factory.datasets.yolo:YoloSegDataset", "sdg_factory.datasets.roi_crops:RoiCropDataset",
    "sdg_factory.datasets.structural_crops:StructuralCropDataset",
    "sdg_factory.datasets.render_folder:ReplicatorRenderFolderDataset",
    "sdg_factory.datasets.scene_history:SceneHistoryDataset", "sdg_factory.datasets.user_input:UserInputDataset",
]


def _png(preview: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(preview), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the preview is not a PNG"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("spec", PREVIEWING_CLASSES)
def test_preview_return_type_is_one_kedro_viz_draws(spec):
    module, _, name = spec.partition(":")
    annotation = inspect.signature(getattr(importlib.import_module(module), name).preview).return_annotation
    # kedro-viz takes the preview type from this annotation's name
    assert getattr(annotation, "__name__", str(annotation)) in VIZ_TYPES, spec


def _images(tmp_path, ids, colour=(40, 160, 40), size=60) -> PartitionedDataset:
    ds = PartitionedDataset(path=str(tmp_path / "images"), dataset=ImageDataset, filename_suffix=".png", progress=False)
    ds.save({pid: np.full((size, size, 3), colour, np.uint8) for pid in ids})
    return ds


def test_mask_preview_drawn_over_its_images(tmp_path):
    _images(tmp_path, ["MAT/a"])
    mask = np.zeros((60, 60), np.uint8)
    mask[20:40, 20:40] = 255
    masks = PartitionedDataset(path=str(tmp_path / "masks"), filename_suffix=".png", progress=False,
                               dataset={"type": ImageDataset, "load_args": {"mode": "gray"}})
    masks.save({"MAT/a": mask})

    sheet = _png(masks.preview(tile=60, overlay="../images"))  # one tile, at (2, 2), unscaled
    inside, outside = sheet[2 + 30, 2 + 30], sheet[2 + 5, 2 + 5]
    np.testing.assert_array_equal(outside, (40, 160, 40))  # the image itself
    assert inside[0] > 100 and inside[0] > inside[1]  # tinted red where the mask is
    plain = _png(masks.preview(tile=60))
    assert plain[2 + 30, 2 + 30].tolist() == [255, 255, 255] and plain[2 + 5, 2 + 5].tolist() == [0, 0, 0]


def test_anomaly_maps_preview_in_a_colormap(tmp_path):
    maps = PartitionedDataset(path=str(tmp_path / "maps"), dataset=NpyDataset, filename_suffix=".npy", progress=False)
    ramp = np.tile(np.linspace(0, 3.5, 64, dtype=np.float32), (64, 1))
    maps.save({"MAT/x": ramp})
    sheet = _png(maps.preview(tile=64, colormap="inferno"))
    low, high = sheet[2 + 32, 2 + 1].astype(int), sheet[2 + 32, 2 + 62].astype(int)
    assert high.sum() > low.sum() + 300  # min dark, max bright
    assert np.ptp(high) > 50  # in colour, not gray
    with pytest.raises(ValueError, match="colormap"):
        maps.preview(colormap="rainbowish")


def test_empty_folder_has_no_preview_rather_than_a_blank_sheet(tmp_path):
    empty = PartitionedDataset(path=str(tmp_path / "none"), dataset=ImageDataset, filename_suffix=".png")
    with pytest.raises(DatasetError, match="no image partitions"):
        empty.preview()


def test_text_partitions_preview_as_a_table(tmp_path):
    prompts = PartitionedTableDataset(path=str(tmp_path / "prompts"), dataset="kedro_datasets.text.TextDataset",
                                      filename_suffix=".txt", progress=False)
    prompts.save({"prompt_00": "a robot on a desk", "prompt_01": "x" * 500})
    table = prompts.preview(width=50)
    assert table["columns"] == ["partition", "content"]
    assert table["data"][0] == ["prompt_00", "a robot on a desk"]
    assert table["data"][1][1] == "x" * 49 + "…"
    assert prompts.load()["prompt_00"]() == "a robot on a desk"  # loads like any PartitionedDataset


def test_masked_image_folder_outlines_known_masks(tmp_path):
    folder = MaskedImageFolder(path=str(tmp_path / "scenes"), progress=False)
    mask = np.zeros((60, 60), np.uint8)
    mask[10:50, 10:50] = 255
    folder.save({"with_mask": {"image": np.full((60, 60, 3), 200, np.uint8), "mask": mask},
                 "without": {"image": np.full((60, 60, 3), 200, np.uint8), "mask": None}})
    sheet = _png(folder.preview(tile=60))  # 2 columns, sorted ids: "with_mask", then "without"
    edge, centre = sheet[2 + 10, 2 + 30].astype(int), sheet[2 + 30, 2 + 30].astype(int)
    assert edge[1] > edge[0] + 60  # the outline is green
    assert sheet[2 + 10, 64 + 30].tolist() == [200, 200, 200]  # no mask, nothing drawn
    assert centre[1] > centre[0]  # tinted inside


def _metrics(tmp_path, data) -> MetricsJSONDataset:
    ds = MetricsJSONDataset(filepath=str(tmp_path / "metrics.json"))
    ds.save(data)
    return ds


def test_metrics_json_previews_as_plotly_bars(tmp_path):
    report = {"mean_iou": 0.9, "images": 2, "ok": True, "iou": {"a": 0.8, "b": 1.0},
              "entries": {"IC/bridge": {"images": 0, "rois": 3}, "MAT/missing": {"images": 4, "rois": 8}},
              "train_loss": [0.5, 0.4, 0.3],
              "scenes": [{"archetype": "office"}, {"archetype": "lab"}, {"archetype": "office"}]}
    ds = _metrics(tmp_path, report)
    assert ds.load() == report  # the file is plain JSON

    default = ds.preview()["data"]
    assert default == [{"type": "bar", "name": "metrics", "x": ["mean_iou", "images"], "y": [0.9, 2]}]  # no bools
    fig = ds.preview(values=["mean_iou", "iou", "entries", "train_loss", "missing.key"], counts=["scenes.archetype"],
                     title="t")
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["mean_iou"]["y"] == [0.9]
    assert (traces["iou"]["x"], traces["iou"]["y"]) == (["a", "b"], [0.8, 1.0])
    assert traces["entries.rois"]["x"] == ["IC/bridge", "MAT/missing"] and traces["entries.rois"]["y"] == [3, 8]
    assert traces["entries.images"]["y"] == [0, 4]
    assert traces["train_loss"]["type"] == "scatter" and traces["train_loss"]["y"] == [0.5, 0.4, 0.3]
    archetypes = traces["count of scenes.archetype"]
    assert (archetypes["x"], archetypes["y"]) == (["lab", "office"], [1, 2])
    assert fig["layout"]["title"]["text"] == "t"
    json.dumps(fig)  # plain JSON for the front end

    with pytest.raises(DatasetError, match="preview_args"):
        ds.preview(values=["nothing_here"])


def test_user_input_image_previews_and_text_input_does_not():
    image = UserInputDataset(source="sample", sample="sdg_factory.pipelines.reference_object:samples/toy_robot.png",
                             dataset={"type": "sdg_factory.datasets.ImageDataset", "load_args": {"mode": "rgb"}})
    assert _png(image.preview()).shape[0] > 64
    text = UserInputDataset(source="sample", sample="sdg_factory.pipelines.reference_object:samples/project_info.txt",
                            dataset="kedro_datasets.text.TextDataset")
    with pytest.raises(DatasetError, match="no image"):
        text.preview()
    with pytest.raises(DatasetError, match="no image"):
        UserInputDataset(source="none", dataset="sdg_factory.datasets.ImageDataset").preview()
