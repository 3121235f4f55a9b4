"""Datasets of sdg-factory: folders of items saved through executors, images, arrays, labels.

Each is small and declarative, in the style of kedro-datasets; kedro-datasets itself is used
wherever it already has the dataset (JSON, YAML, text, pandas, matplotlib).
"""

from sdg_factory.datasets.failures import PartitionFailuresError
from sdg_factory.datasets.figure import FigureDataset
from sdg_factory.datasets.image import ImageDataset
from sdg_factory.datasets.json_file import JSONDataset, YAMLDataset
from sdg_factory.datasets.jsonl import JSONLinesDataset
from sdg_factory.datasets.metrics_json import MetricsJSONDataset
from sdg_factory.datasets.npy import NpyDataset
from sdg_factory.datasets.partitioned import PartitionedDataset, PartitionedTableDataset
from sdg_factory.datasets.registered_edits import RegisteredEditsDataset
from sdg_factory.datasets.render_folder import ReplicatorRenderFolderDataset
from sdg_factory.datasets.roi_crops import RoiCropDataset
from sdg_factory.datasets.usd import UsdStageDataset

__all__ = [
    "FigureDataset",
    "ImageDataset",
    "JSONDataset",
    "JSONLinesDataset",
    "MetricsJSONDataset",
    "NpyDataset",
    "PartitionFailuresError",
    "PartitionedDataset",
    "PartitionedTableDataset",
    "RegisteredEditsDataset",
    "ReplicatorRenderFolderDataset",
    "RoiCropDataset",
    "UsdStageDataset",
    "YAMLDataset",
]
