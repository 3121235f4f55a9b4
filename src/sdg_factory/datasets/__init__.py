"""Datasets of sdg-factory: folders of items saved through executors, images, arrays, labels.

Each is small and declarative, in the style of kedro-datasets; kedro-datasets itself is used
wherever it already has the dataset (JSON, YAML, text, pandas, matplotlib).

The names below are imported on first use (PEP 562), so ``import sdg_factory.datasets`` or
``from sdg_factory.datasets.image import ImageDataset`` loads neither usd-core nor torch: the
catalog (``type: sdg_factory.datasets.image.ImageDataset``) imports only the module it names.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EditedCropsDataset": "edited_crops",
    "FigureDataset": "figure",
    "ImageDataset": "image",
    "JSONDataset": "json_file",
    "JSONLinesDataset": "jsonl",
    "MetricsJSONDataset": "metrics_json",
    "NpyDataset": "npy",
    "PartitionFailuresError": "failures",
    "PartitionedDataset": "partitioned",
    "PartitionedTableDataset": "partitioned",
    "RegisteredEditsDataset": "registered_edits",
    "RegistrationRecordsDataset": "registration_records",
    "ReplicatorRenderFolderDataset": "render_folder",
    "RoiCropDataset": "roi_crops",
    "TextDataset": "text_file",
    "UsdStageDataset": "usd",
    "YAMLDataset": "json_file",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
