"""``JSONDataset`` and ``YAMLDataset``: one JSON or YAML document at any fsspec path.

The same files, loads and save arguments as kedro-datasets' ``json.JSONDataset`` and
``yaml.YAMLDataset``, written atomically and fingerprinted by content (an unchanged document
is not rewritten; see :mod:`sdg_factory.datasets.single_file`). YAML is always loaded safely.
``volatile_keys`` names top-level keys that record when the document was made: a save that
differs from the file only in them keeps the file (:mod:`sdg_factory.datasets.volatile`).

Catalog example::

    crop_summary:
      type: sdg_factory.datasets.JSONDataset
      filepath: ${globals:dig_url_root}/runs/demo/usd2roi-components/crop_summary.json
      save_args: {indent: 2, sort_keys: true}

    day0_crop_resolved:
      type: sdg_factory.datasets.YAMLDataset
      filepath: ${globals:dig_url_root}/runs/demo/usd2roi-components/day0_crop.yaml

    scene_generation.plan:          # a re-run that plans the same batch keeps planned_at: not rewritten
      type: sdg_factory.datasets.JSONDataset
      filepath: ${globals:dig_url_root}/runs/demo/scene_generation/plan.json
      volatile_keys: [planned_at, window_start]

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

from sdg_factory.datasets._fs import filesystem, full_path, refresh
from sdg_factory.datasets.single_file import SingleFileMixin
from sdg_factory.datasets.volatile import keep_recorded_times
from sdg_factory.datasets.volatile import volatile_keys as as_volatile_keys


class _DocumentDataset(SingleFileMixin, AbstractVersionedDataset[Any, Any]):
    DEFAULT_SAVE_ARGS: dict[str, Any] = {}
    KIND = ""

    def __init__(self, *, filepath: str, save_args: dict | None = None, version: Version | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None,
                 volatile_keys: list[str] | str | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._init_version(version)
        self._save_args = {**self.DEFAULT_SAVE_ARGS, **(save_args or {})}
        self._volatile = as_volatile_keys(volatile_keys)
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
        text = self.dump(data, **self._save_args)
        if self._volatile and not self._version:
            text = self._keeping_recorded_times(text)
        self._save_bytes(text.encode())

    def _keeping_recorded_times(self, text: str) -> str:
        """``text``, or the file on disk when the two differ only in ``volatile_keys`` (see
        :mod:`sdg_factory.datasets.volatile`): then the save writes nothing."""
        refresh(self._fs)
        path = self._existing_path()
        if path is None:
            return text
        try:
            with self._fs.open(path, "rb") as handle:
                old = self.parse(handle.read().decode())
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
            return text  # an unreadable file is simply replaced
        new = self.parse(text)
        kept = keep_recorded_times(new, old, self._volatile)
        return text if kept is new else self.dump(kept, **self._save_args)

    def preview(self) -> JSONPreview:
        """The document as JSON, for kedro-viz (YAML dates and the like as their text)."""
        return JSONPreview(json.dumps(self.load(), default=str))

    def _exists(self) -> bool:
        return self._existing_path() is not None

    def _describe(self) -> dict[str, Any]:
        described = {**self._describe_path(), "save_args": self._save_args}
        if self._volatile:
            described["volatile_keys"] = list(self._volatile)
        return described


class JSONDataset(_DocumentDataset):
    """A JSON document (``save_args`` go to ``json.dumps``; default ``indent: 2``)."""

    DEFAULT_SAVE_ARGS = {"indent": 2}
    KIND = "JSON"

    parse, dump = staticmethod(json.loads), staticmethod(json.dumps)


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLDataset(_DocumentDataset):
    """A YAML document (``save_args`` go to ``yaml.dump``; default ``default_flow_style: false``)."""

    DEFAULT_SAVE_ARGS = {"default_flow_style": False}
    KIND = "YAML"

    dump = staticmethod(yaml.dump)

    @staticmethod
    def parse(text: str) -> Any:
        """``yaml.safe_load`` with libyaml's parser where PyYAML has it (the same constructors,
        several times faster on the run's provenance records)."""
        return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
