"""``FigureDataset``: a matplotlib figure saved as a PNG, atomically and only when it changes.

kedro-datasets' ``matplotlib.MatplotlibDataset`` streams the PNG into its final path on every
save; this one renders the figure to bytes, writes them atomically and, inside a Kedro run,
leaves the file alone when the bytes are unchanged (see :mod:`sdg_factory.datasets.single_file`).
It loads back as an RGBA array and previews as the image in kedro-viz.

Catalog example::

    defects.metrics_plot:
      type: sdg_factory.datasets.FigureDataset
      filepath: ${globals:dig_url_root}/runs/demo/defects/metrics.png
      save_args: {dpi: 100}
      versioned: true               # optional: metrics.png/<timestamp>/metrics.png, the newest loads
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from kedro.io import AbstractVersionedDataset, DatasetError, Version
from kedro_datasets._typing import ImagePreview

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.image import decode_image
from sdg_factory.datasets.single_file import SingleFileMixin


class FigureDataset(SingleFileMixin, AbstractVersionedDataset[Any, np.ndarray]):
    def __init__(self, *, filepath: str, save_args: dict | None = None, version: Version | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._init_version(version)
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def load(self) -> np.ndarray:
        url = full_path(self._protocol, self._path)
        path = self._existing_path()
        if path is None:
            raise DatasetError(f"figure '{url}' does not exist; run the pipeline that draws it first")
        with self._fs.open(path, "rb") as handle:
            return decode_image(handle.read(), "rgba", url)

    def save(self, data: Any) -> None:
        if self._skip_save(data):
            return
        buffer = io.BytesIO()
        # no timestamps or version strings in the PNG: the same figure gives the same bytes
        data.savefig(buffer, format="png", metadata={"Software": None}, **self._save_args)
        self._save_bytes(buffer.getvalue())

    def _exists(self) -> bool:
        return self._existing_path() is not None

    def _describe(self) -> dict[str, Any]:
        return {**self._describe_path(), "save_args": self._save_args}

    def preview(self) -> ImagePreview:
        """The figure, for kedro-viz."""
        with self._fs.open(self._read_path(), "rb") as handle:  # the PNG as written
            return ImagePreview(base64.b64encode(handle.read()).decode())
