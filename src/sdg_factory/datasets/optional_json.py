"""``OptionalJSONDataset``: a JSON file a user may or may not provide (``load`` → ``None`` when absent).

For inputs such as an ``infer_config.json`` handed back to a pipeline: the node receives the
parsed document, or ``None`` and applies its defaults. Read-only, unless ``writable: true``:
then it is an output that may be absent — saving ``{}`` (nothing to report, e.g. metrics of a
folder without ground truth) removes the file instead of writing an empty one, so the folder
holds exactly what this run produced.

Fingerprinted like every single file (:mod:`sdg_factory.datasets.single_file`); an absent output
is recorded too (its ``.<name>.sdg.json`` holds no file), so a node whose output is "no file"
is skipped on an unchanged re-run like any other.
"""

from __future__ import annotations

import json
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import filesystem, full_path, refresh, write_bytes_if_changed
from sdg_factory.datasets.single_file import SingleFileMixin
from sdg_factory.fingerprints.context import NodeFingerprint
from sdg_factory.fingerprints.manifest import Manifest, sidecar_path

ABSENT = "absent"  # the fingerprint recorded for "this run makes no file"


class OptionalJSONDataset(SingleFileMixin, AbstractDataset[None, Any]):
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
        if not self._writable:
            raise DatasetError(f"'{full_path(self._protocol, self._path)}' is an input only (OptionalJSONDataset)")
        if self._skip_save(data):
            return
        if data != {}:
            self._save_bytes(json.dumps(data, **self._save_args).encode())
            return
        binding, self._binding = self._binding, None
        if self._fs.exists(self._path):
            self._fs.rm(self._path)
        if binding is not None:  # what made "no file", so an unchanged re-run skips the node
            manifest = Manifest(items={"": {"fingerprint": ABSENT, "files": {}}}, made_by=binding.made_by,
                                partitions=1)
            write_bytes_if_changed(self._fs, sidecar_path(self._path), manifest.encode())

    def is_fresh(self, fingerprint: NodeFingerprint) -> bool:
        refresh(self._fs)
        if self._fs.exists(self._path):
            return super().is_fresh(fingerprint)
        manifest = self._read_sidecar(self._path)
        item = manifest.items.get("") if manifest.trusted else None
        return bool(item) and item.get("fingerprint") == ABSENT and not item.get("files") \
            and manifest.made_by.get("fingerprint") == fingerprint.whole

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path), "optional": True}
