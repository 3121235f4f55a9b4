"""What every single-file dataset of the project shares: atomic writes, content fingerprints.

A single file is fingerprinted by its content: inside a Kedro run, a save whose bytes equal the
file on disk writes nothing (its mtime stays), so an unchanged re-run rewrites no data file and
the nodes that read it see an unchanged input. Beside the file, ``.<name>.sdg.json`` (see
:mod:`sdg_factory.fingerprints.manifest`) records what made it: node, parameters, inputs.
Outside a Kedro run (a notebook, a partition of a folder) a save is a plain atomic write.

Versioning: the datasets whose constructor takes ``version`` (JSON, YAML, metrics, figures) accept
Kedro's ``versioned: true``, with :class:`~kedro.io.AbstractVersionedDataset`'s semantics: a
save writes ``<filepath>/<timestamp>/<name>`` (its sidecar beside it, in the same folder), a load
reads the newest version (or ``--load-versions``'). A node skipped as unchanged writes no
version; ``is_fresh`` and the input fingerprint look at the version a load would read.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import posixpath
from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, Version
from kedro.io.core import VersionNotFoundError, get_filepath_str

from sdg_factory.datasets._fs import atomic_write_bytes, full_path, refresh, write_bytes_if_changed
from sdg_factory.fingerprints.context import UNCHANGED, NodeFingerprint
from sdg_factory.fingerprints.hashing import digest, stat_key
from sdg_factory.fingerprints.manifest import Manifest, intact, read_manifest, sidecar_path

logger = logging.getLogger(__name__)


def bytes_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class SingleFileMixin:
    """For datasets with ``_fs``, ``_protocol`` and ``_path`` (one file) that save bytes.

    A dataset that also derives from :class:`~kedro.io.AbstractVersionedDataset` calls
    :meth:`_init_version` in its constructor; every file access then goes through
    :meth:`_read_path` (the version a load reads) or :meth:`_write_path` (the version a save writes).
    """

    writes_atomically = True  # save() writes its final path atomically (see _fs.atomic_write_bytes)
    _binding: NodeFingerprint | None = None
    _version: Version | None = None

    @classmethod
    def _save_wrapper(cls, save_func: Any) -> Any:
        """Kedro's save wrapper, except that :data:`UNCHANGED` (a skipped node) bypasses the
        versioned one: nothing is written, so no new version is announced."""
        wrapped = super()._save_wrapper(save_func)

        @functools.wraps(save_func)
        def save(self: Any, data: Any) -> None:
            if data is UNCHANGED and self._version:
                return save_func(self, data)
            return wrapped(self, data)

        save.__savewrapped__ = True
        return save

    def _init_version(self, version: Version | None) -> None:
        AbstractVersionedDataset.__init__(self, PurePosixPath(self._path), version,
                                          exists_function=self._fs.exists, glob_function=self._glob)

    def _glob(self, pattern: str) -> list[str]:
        refresh(self._fs)  # other processes write versions too
        return self._fs.glob(pattern)

    def _read_path(self) -> str:
        """The file a load reads: the path, or its newest (or pinned) version."""
        if not self._version:
            return self._path
        return get_filepath_str(self._get_load_path(), self._protocol)

    def _write_path(self) -> str:
        """The file a save writes: the path, or a new version of it (call once per save)."""
        if not self._version:
            return self._path
        return get_filepath_str(self._get_save_path(), self._protocol)

    def _existing_path(self) -> str | None:
        """The file a load reads, when it exists."""
        try:
            path = self._read_path()
        except VersionNotFoundError:
            return None
        return path if self._fs.exists(path) else None

    def bind_fingerprint(self, fingerprint: NodeFingerprint | None) -> None:
        """Called by the hooks before the node that writes this file runs."""
        self._binding = fingerprint

    def _read_sidecar(self, path: str | None = None) -> Manifest:
        sidecar = sidecar_path(path or self._existing_path() or self._path)
        return read_manifest(self._fs, sidecar, full_path(self._protocol, sidecar))

    def _skip_save(self, data: Any) -> bool:
        """True for :data:`UNCHANGED` (a skipped node): then ``save`` writes nothing."""
        if data is UNCHANGED:
            self._binding = None
            return True
        return False

    def is_fresh(self, fingerprint: NodeFingerprint) -> bool:
        """True when the file is as the sidecar recorded it and was made with this fingerprint."""
        refresh(self._fs)
        path = self._existing_path()
        if path is None:
            return False
        manifest = self._read_sidecar(path)
        item = manifest.items.get("") if manifest.trusted else None
        return bool(item) and manifest.made_by.get("fingerprint") == fingerprint.whole and intact(
            item, {posixpath.basename(path): stat_key(self._fs.info(path))})

    def _save_bytes(self, body: bytes) -> None:
        binding, self._binding = self._binding, None
        path = self._write_path()
        if binding is None:
            atomic_write_bytes(self._fs, path, body)
            return
        content = bytes_digest(body)
        name = posixpath.basename(path)
        refresh(self._fs)
        # a new version is always written; an unversioned file only when its bytes change
        unchanged = not self._version and self._content_digest(path, self._read_sidecar(path)) == content
        if not unchanged:
            atomic_write_bytes(self._fs, path, body)
        else:
            logger.debug("%s is unchanged; not rewritten", full_path(self._protocol, path))
        refresh(self._fs)
        files = {name: list(stat_key(self._fs.info(path)))}
        manifest = Manifest(items={"": {"fingerprint": content, "files": files}}, made_by=binding.made_by,
                            partitions=1)
        write_bytes_if_changed(self._fs, sidecar_path(path), manifest.encode())  # same record: left alone

    def _content_digest(self, path: str | None = None, manifest: Manifest | None = None) -> str | None:
        """The digest of the file's bytes (from the sidecar when the file is as recorded)."""
        path = path or self._existing_path()
        if path is None or not self._fs.exists(path):
            return None
        manifest = manifest if manifest is not None else self._read_sidecar(path)
        item = manifest.items.get("") if manifest.trusted else None
        if item and intact(item, {posixpath.basename(path): stat_key(self._fs.info(path))}):
            return item["fingerprint"]
        with self._fs.open(path, "rb") as handle:
            return bytes_digest(handle.read())

    def content_fingerprint(self) -> str:
        """The fingerprint of this file as an input: a digest of its bytes (absent: a marker)."""
        refresh(self._fs)
        return digest("file", self._content_digest() or "absent")

    def made_by(self) -> dict:
        manifest = self._read_sidecar()
        return {**manifest.made_by, "trusted": manifest.trusted}

    def _describe_path(self) -> dict[str, Any]:
        described: dict[str, Any] = {"filepath": full_path(self._protocol, self._path)}
        if self._version:
            described["version"] = self._version
        return described
