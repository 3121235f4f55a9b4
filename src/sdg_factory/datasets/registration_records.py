"""``RegistrationRecordsDataset``: the registration records of a folder of registered edits.

Each pool task of a :class:`~sdg_factory.datasets.RegisteredEditsDataset` returns its ROI's
record (the recovered transform, its score, whether the edit was accepted) with its result, and
that save keeps it in the folder's manifest. This read-only dataset, on the same path, loads
them as ``{partition id: record}`` — rejected edits' records too, and those of folders written
before the records moved into the manifest::

    restyle_registration_items:
      type: sdg_factory.datasets.RegistrationRecordsDataset
      path: ${_run_root}/augment/crop   # augmented_crops' path

Its fingerprint as an input is a digest of the records, so a node that reads them runs again
exactly when one of them changed.
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import full_path
from sdg_factory.datasets.registered_edits import RegisteredEditsDataset
from sdg_factory.fingerprints.hashing import digest


class RegistrationRecordsDataset(AbstractDataset[None, dict]):
    """See the module docstring."""

    def __init__(self, *, path: str, credentials: dict | None = None, fs_args: dict | None = None,
                 metadata: dict | None = None) -> None:
        self._edits = RegisteredEditsDataset(path=path, credentials=credentials, fs_args=fs_args, progress=False)
        self.metadata = metadata

    def load(self) -> dict[str, dict]:
        return self._edits.records()

    def save(self, data: Any) -> None:
        raise DatasetError(f"'{self._url()}' is read-only (RegistrationRecordsDataset): the records are "
                           "written by the RegisteredEditsDataset on the same path")

    def content_fingerprint(self) -> str:
        """The fingerprint of the records as an input."""
        return digest("registration-records", self._edits.records())

    def _url(self) -> str:
        return full_path(self._edits._protocol, self._edits._root)  # noqa: SLF001 - the same folder

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"path": self._url()}
