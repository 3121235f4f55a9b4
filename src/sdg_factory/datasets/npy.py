"""``NpyDataset``: one ``.npy`` array (structured dtypes included), never unpickled."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.single_file import SingleFileMixin


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_from_bytes(data: bytes, source: str = "<bytes>") -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        raise DatasetError(
            f"cannot read '{source}' as a .npy array ({exc}); object arrays are refused "
            "because loading them would unpickle untrusted data"
        ) from exc


class NpyDataset(SingleFileMixin, AbstractDataset[np.ndarray, np.ndarray]):
    """A numpy array in ``.npy`` format at any fsspec path (``allow_pickle`` is always off)."""

    def __init__(self, *, filepath: str, credentials: dict | None = None, fs_args: dict | None = None,
                 metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self.metadata = metadata

    def load(self) -> np.ndarray:
        with self._fs.open(self._path, "rb") as handle:
            return npy_from_bytes(handle.read(), full_path(self._protocol, self._path))

    def save(self, data: np.ndarray) -> None:
        if self._skip_save(data):
            return
        self._save_bytes(npy_bytes(data))

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path)}
