"""``UsdStageDataset``: a USD stage (``.usd``/``.usda``/``.usdc``) at any fsspec path."""

from __future__ import annotations

import os
import posixpath
import tempfile
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from pxr import Sdf, Usd

from sdg_factory.datasets._fs import atomic_write_bytes, filesystem, full_path


class UsdStageDataset(AbstractDataset):
    """Load → ``Usd.Stage``; save ← ``Usd.Stage`` (written as USDA text, atomically).

    Local files open in place, so references to sibling files resolve; remote files are
    copied to a temporary folder first.
    """

    writes_atomically = True  # save() writes its final path atomically (see _fs.atomic_write_bytes)

    def __init__(self, *, filepath: str, credentials: dict | None = None, fs_args: dict | None = None,
                 metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self.metadata = metadata
        self._tmp: tempfile.TemporaryDirectory | None = None

    def load(self) -> Usd.Stage:
        url = full_path(self._protocol, self._path)
        if not self._fs.exists(self._path):
            raise DatasetError(f"no USD file at '{url}'")
        local = self._path
        if self._protocol not in ("file", ""):
            self._tmp = tempfile.TemporaryDirectory(prefix="sdg-usd-")
            local = os.path.join(self._tmp.name, posixpath.basename(self._path))
            self._fs.get(self._path, local)
        try:
            stage = Usd.Stage.Open(local)
        except Exception as exc:  # pxr raises Tf.ErrorException
            raise DatasetError(f"'{url}' is not a readable USD stage: {exc}") from exc
        if stage is None:
            raise DatasetError(f"'{url}' is not a readable USD stage")
        return stage

    def save(self, data: Usd.Stage) -> None:
        layer: Sdf.Layer = data.GetRootLayer()
        atomic_write_bytes(self._fs, self._path, layer.ExportToString().encode())

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path)}
