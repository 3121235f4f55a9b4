"""``OptionalJSONDataset``: a JSON file a user may or may not provide (``load`` → ``None`` when absent).

For inputs such as an ``infer_config.json`` handed back to a pipeline: the node receives the
parsed document, or ``None`` and applies its defaults. Read-only, unless ``writable: true``:
then it is an output that may be absent — saving ``{}`` (nothing to report, e.g. metrics of a
folder without ground truth) removes the file instead of writing an empty one, so the folder
holds exactly what this run produced.
"""

from __future__ import annotations

import json
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import atomic_write_bytes, filesystem, full_path


class OptionalJSONDataset(AbstractDataset[None, Any]):
    def __init__(self, *, filepath: str, writable: bool = False, save_args: dict | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._writable = bool(writable)
        self._save_args = {"indent": 2, "sort_keys": True, **(save_args or {})}
        self.metadata = metadata

    def load(self) -> Any:
        url = full_path(self._protocol, self._path)
        if not self._fs.exists(self._path):
            return None
        with self._fs.open(self._path, "rb") as handle:
            try:
                return json.loads(handle.read().decode())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DatasetError(f"'{url}' is not valid JSON ({exc}); fix or remove the file") from exc

    def save(self, data: Any) -> None:
        if self._writable:
            if data == {}:
                if self._fs.exists(self._path):
                    self._fs.rm(self._path)
                return
            atomic_write_bytes(self._fs, self._path, json.dumps(data, **self._save_args).encode())
            return
        raise DatasetError(f"'{full_path(self._protocol, self._path)}' is an input only (OptionalJSONDataset)")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path), "optional": True}
