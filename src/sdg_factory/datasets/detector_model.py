"""``DetectorModelDataset``: a fitted anomaly detector saved as one ``.npz`` file, never a pickle.

The file holds the detector's numeric arrays (``arrays/<name>``) and one JSON document
(``meta.json``, stored as UTF-8 bytes) with everything else: backend, settings, algorithm and
code version, ``sha256`` of the state. ``np.load(..., allow_pickle=False)`` reads it back: a file
with object arrays is refused. Supports Kedro versioning (``versioned: true``): each save goes
to ``<filepath>/<version>/<name>`` and an ``infer_config.json`` names its model by ``sha256``.

Catalog example::

    defects.infer_model:
      type: sdg_factory.datasets.detector_model.DetectorModelDataset
      filepath: ${_run_root}/defects_infer/model/detector.npz
      versioned: true

``save`` / ``load`` take and give the state dict of
:func:`sdg_factory.backends.anomaly_detection.detector_state` (``{"arrays": {...}, ...}``).
Fingerprinted like every single file (:mod:`sdg_factory.datasets.single_file`): a node skipped
as unchanged writes no new version, and the next node's input fingerprint is the file's bytes.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from kedro.io import AbstractVersionedDataset, DatasetError, Version

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.datasets.single_file import SingleFileMixin

META = "meta.json"
ARRAY_PREFIX = "arrays/"


def state_to_npz(state: dict[str, Any]) -> bytes:
    """The ``.npz`` bytes of a detector state (arrays as arrays, the rest as JSON)."""
    meta = {k: v for k, v in state.items() if k != "arrays"}
    arrays = {ARRAY_PREFIX + k: np.asarray(v) for k, v in (state.get("arrays") or {}).items()}
    for name, arr in arrays.items():
        if arr.dtype.hasobject:
            raise DatasetError(f"detector array '{name}' holds Python objects; only numeric arrays are saved")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{META: np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)}, **arrays)
    return buf.getvalue()


def state_from_npz(data: bytes, source: str) -> dict[str, Any]:
    """A detector state from ``.npz`` bytes (``allow_pickle`` off)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(npz[META].tobytes().decode())
            arrays = {k[len(ARRAY_PREFIX):]: npz[k] for k in npz.files if k.startswith(ARRAY_PREFIX)}
    except (ValueError, KeyError, OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"'{source}' is not a saved detector (.npz with {META}): {exc}. Object arrays are "
                           "refused, since loading them would unpickle untrusted data") from exc
    return {**meta, "arrays": arrays}


class DetectorModelDataset(SingleFileMixin, AbstractVersionedDataset[dict, dict]):
    """See the module docstring."""

    def __init__(self, *, filepath: str, version: Version | None = None, credentials: dict | None = None,
                 fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._fs, self._protocol, self._path = filesystem(filepath, credentials, fs_args)
        self._init_version(version)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        path = self._read_path()
        with self._fs.open(path, "rb") as handle:
            return state_from_npz(handle.read(), full_path(self._protocol, path))

    def save(self, data: dict[str, Any]) -> None:
        if self._skip_save(data):
            return
        self._save_bytes(state_to_npz(data))

    def _exists(self) -> bool:
        return self._existing_path() is not None

    def _describe(self) -> dict[str, Any]:
        return self._describe_path()
