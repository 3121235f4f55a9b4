"""``JSONDataset`` and ``YAMLDataset``: one JSON or YAML document at any fsspec path.

The same files, loads and save arguments as kedro-datasets' ``json.JSONDataset`` and
``yaml.YAMLDataset``, written atomically and fingerprinted by content (an unchanged document
is not rewritten; see :mod:`sdg_factory.datasets.single_file`). YAML is always loaded safely.

Catalog example::

    crop_summary:
      type: sdg_factory.datasets.JSONDataset
      filepath: ${globals:dig_url_root}/runs/demo/usd2roi-components/crop_summary.json
      save_args: {indent: 2, sort_keys: true}

    day0_crop_resolved:
      type: sdg_factory.datasets.YAMLDataset
      filepath: ${globals:dig_url_root}/runs/demo/usd2roi-components/day0_crop.yaml

    defects_metrics:                # versioned: metrics.json/<timestamp>/metrics.json, the newest loads
      type: sdg_factory.datasets.JSONDataset
      filepath: ${globals:dig_url_root}/runs/demo/defects/metrics.json
      versioned: true
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from kedro.io import AbstractVersionedDataset, DatasetError, Version
from kedro.io.core import VersionNotFoundError
from kedro_datasets._typing import JSONPreview

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.single_file import SingleFileMixin


class _DocumentDataset(SingleFileMixin, AbstractVersionedDataset[Any, Any]):
    DEFAULT_SAVE_ARGS: dict[str, Any] = {}
    KIND = ""

    def __init__(self, *, filepath: str, save_args: dict | None = None, version: Version | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._init_version(version)
        self._save_args = {**self.DEFAULT_SAVE_ARGS, **(save_args or {})}
        self.metadata = metadata

    # each format provides parse(text) and dump(data, **save_args)

    def load(self) -> Any:
        url = full_path(self._protocol, self._path)
        try:
            with self._fs.open(self._read_path(), "rb") as handle:
                text = handle.read().decode()
        except (FileNotFoundError, VersionNotFoundError) as exc:
            raise DatasetError(f"'{url}' does not exist; run the pipeline that writes it first") from exc
        try:
            return self.parse(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise DatasetError(f"'{url}' is not valid {self.KIND} ({exc}); fix or delete the file") from exc

    def save(self, data: Any) -> None:
        if self._skip_save(data):
            return
        self._save_bytes(self.dump(data, **self._save_args).encode())

    def preview(self) -> JSONPreview:
        """The document as JSON, for kedro-viz (YAML dates and the like as their text)."""
        return JSONPreview(json.dumps(self.load(), default=str))

    def _exists(self) -> bool:
        return self._existing_path() is not None

    def _describe(self) -> dict[str, Any]:
        return {**self._describe_path(), "save_args": self._save_args}


class JSONDataset(_DocumentDataset):
    """A JSON document (``save_args`` go to ``json.dumps``; default ``indent: 2``)."""

    DEFAULT_SAVE_ARGS = {"indent": 2}
    KIND = "JSON"

    parse, dump = staticmethod(json.loads), staticmethod(json.dumps)


class YAMLDataset(_DocumentDataset):
    """A YAML document (``save_args`` go to ``yaml.dump``; default ``default_flow_style: false``)."""

    DEFAULT_SAVE_ARGS = {"default_flow_style": False}
    KIND = "YAML"

    parse, dump = staticmethod(yaml.safe_load), staticmethod(yaml.dump)
