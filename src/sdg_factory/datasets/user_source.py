"""``UserSourceDataset``: the read-only base of a file or folder the user names in a parameter.

The path key is ``source`` (``none`` or empty: the optional input is absent and loads as
``None``); credentials and ``fs_args`` go to fsspec. Subclasses implement ``_load_from(fs,
protocol, path, url)``; ``save`` always refuses, since the user's files are never written.
As a node's input it is fingerprinted by content (names and bytes of its visible files, hashes
cached in the user's cache folder, never beside the files), so a re-run recomputes only when
the user's files changed.

Catalog example (a subclass)::

    defects.infer_input:
      type: sdg_factory.datasets.inspection_folder.InspectionFolderDataset
      source: ${runtime_params:input_dir, none}
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets._fs import filesystem, full_path
from sdg_factory.fingerprints.hashing import digest, tree_fingerprint

ABSENT = {"", "none", "null", "None"}


class UserSourceDataset(AbstractDataset[None, Any]):
    """See the module docstring."""

    def __init__(self, *, source: str | None = None, credentials: dict | None = None,
                 fs_args: dict | None = None, metadata: dict | None = None) -> None:
        self._source = "" if source is None else str(source)
        self._credentials, self._fs_args = credentials, fs_args
        self.metadata = metadata

    def load(self) -> Any:
        if self._source in ABSENT:
            return None
        fs, protocol, path = filesystem(self._source, self._credentials, self._fs_args)
        return self._load_from(fs, protocol, path, full_path(protocol, path))

    @abstractmethod
    def _load_from(self, fs: Any, protocol: str, path: str, url: str) -> Any:
        """What the source holds (``url``: the path as shown to the user)."""

    def content_fingerprint(self) -> str:
        """The fingerprint of the user's file or folder as an input (absent: a marker)."""
        if self._source in ABSENT:
            return digest("absent", type(self).__name__)
        fs, protocol, path = filesystem(self._source, self._credentials, self._fs_args)
        return tree_fingerprint(fs, path, full_path(protocol, path), skip_hidden=True)

    def save(self, data: Any) -> None:
        raise DatasetError(f"'{self._source}' is an input only ({type(self).__name__})")

    def _exists(self) -> bool:
        return self._source not in ABSENT

    def _describe(self) -> dict[str, Any]:
        return {"source": self._source}
