"""``CompletionMarkersDataset``: a hidden JSON marker file in each item folder.

``<path>/<item>/<marker_name>`` (e.g. ``scenes/<scene_id>/.scene_generation_complete``) tells a
downstream job that the item is complete. Markers are written atomically through the
partitioned save (executor, resume, per-item failures); unlike image partitions their file
name is hidden, so listing looks for the marker name; the save's manifest is named after the marker
(``.sdg_manifest-<marker>.json``) and is not written when there is nothing to save.
``volatile_keys`` (e.g. ``[completed_at]``) name the marker's times: a marker written again with
the same content otherwise keeps the file on disk (:mod:`sdg_factory.datasets.volatile`).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from sdg_factory.datasets._fs import TMP_MARK, is_hidden, write_bytes_if_changed
from sdg_factory.datasets.partitions import BasePartitionsDataset
from sdg_factory.datasets.volatile import keep_recorded_times
from sdg_factory.datasets.volatile import volatile_keys as as_volatile_keys
from sdg_factory.fingerprints.manifest import Manifest
from sdg_factory.listing import find


class CompletionMarkersDataset(BasePartitionsDataset):
    """Save ``{item_id: dict or callable}``; load ``{item_id: loader}`` of the markers present."""

    def __init__(self, *, path: str, marker_name: str = ".complete",
                 volatile_keys: list[str] | str | None = None, **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)
        self._volatile = as_volatile_keys(volatile_keys)
        self._marker = str(marker_name).strip("/")
        if not self._marker or "/" in self._marker:
            raise ValueError(f"marker_name must be a plain file name, got {marker_name!r}")
        self._manifest_name = f".sdg_manifest-{self._marker.lstrip('.')}.json"

    def _file(self, pid: str) -> str:
        return self._join(f"{pid}/{self._marker}")

    def _list_partitions(self) -> list[str]:
        if not self._fs.exists(self._root):
            return []
        suffix = "/" + self._marker
        out = []
        for path in find(self._fs, self._root):
            rel = posixpath.relpath(path, self._root)
            if rel.endswith(suffix) and not is_hidden(rel[: -len(suffix)]) and TMP_MARK not in rel:
                out.append(rel[: -len(suffix)])
        return out

    def _load_partition(self, pid: str) -> dict:
        with self._fs.open(self._file(pid), "rb") as handle:
            return json.load(handle)

    def _partition_complete(self, pid: str) -> bool:
        return self._fs.exists(self._file(pid))

    def _write_partition(self, pid: str, value: Any) -> list[str]:
        path = self._file(pid)
        if self._volatile:
            value = keep_recorded_times(json.loads(json.dumps(value)), self._old_marker(path), self._volatile)
        write_bytes_if_changed(self._fs, path, json.dumps(value, indent=2, sort_keys=True).encode())
        return self._files_of(pid)

    def _old_marker(self, path: str) -> Any:
        """The marker on disk (``None`` when absent or unreadable: it is simply replaced)."""
        try:
            with self._fs.open(path, "rb") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return None

    def _files_of(self, pid: str) -> list[str]:
        return [f"{pid}/{self._marker}"]

    def _write_manifest(self, manifest: Manifest) -> None:
        if manifest.partitions == 0 and not manifest.failed and not manifest.items:
            return
        super()._write_manifest(manifest)
