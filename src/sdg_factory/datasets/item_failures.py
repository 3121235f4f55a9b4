"""``ItemFailuresDataset``: the items a node could not process, as JSON, and in the run summary.

A node that works through the items of a user's folder (``defects_infer``) reports an item it
cannot read — an unreadable image, a missing golden, boxes out of range — instead of stopping:
it returns ``[{"id", "file", "error"}, ...]``. Saving writes that list (``[]`` when all went
well) and records each entry in the run's failure registry
(:data:`sdg_factory.datasets.failures.RUN_FAILURES`), so ``kedro run`` ends non-zero with the
summary of every failed item while all other outputs are written — like a failed partition.
Fingerprinted like every single file (:mod:`sdg_factory.datasets.single_file`): when the node is
skipped as unchanged, the entries already in the file are recorded again, so an unchanged re-run
of a folder with bad items still ends non-zero and names them.

Catalog example::

    defects.infer_failures:
      type: sdg_factory.datasets.item_failures.ItemFailuresDataset
      filepath: ${globals:dig_url_root}/runs/${runtime_params:run_name, ${globals:run_name}}/defects_infer/failures.json
      label: defects_infer input items
"""

from __future__ import annotations

import json
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.failures import RUN_FAILURES, PartitionFailure
from sdg_factory.datasets.single_file import SingleFileMixin
from sdg_factory.fingerprints.context import UNCHANGED


class ItemFailuresDataset(SingleFileMixin, AbstractDataset[list, list]):
    def __init__(self, *, filepath: str, label: str | None = None, credentials: dict | None = None,
                 fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._label = label or full_path(self._protocol, self._path)
        self.metadata = metadata

    def load(self) -> list[dict[str, Any]]:
        with self._fs.open(self._path, "rb") as handle:
            return json.loads(handle.read().decode())

    def save(self, data: list[dict[str, Any]]) -> None:
        if data is UNCHANGED:  # the node was skipped: the failures on disk are still this run's
            self._skip_save(data)
            data = self.load() if self._fs.exists(self._path) else []
        elif not isinstance(data, list):
            raise DatasetError(
                f"'{self._label}' saves a list of {{id, file, error}} records, got {type(data).__name__}")
        else:
            self._save_bytes(json.dumps(data, indent=2, sort_keys=True).encode())
        if data:
            RUN_FAILURES.record([PartitionFailure(self._label, str(f.get("id")),
                                                  f"{f.get('file')}: {f.get('error')}") for f in data])

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path)}
