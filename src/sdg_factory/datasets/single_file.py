"""What every single-file dataset of the project shares: atomic writes, content fingerprints.

A single file is fingerprinted by its content: inside a Kedro run, a save whose bytes equal the
file on disk writes nothing (its mtime stays), so an unchanged re-run rewrites no data file and
the nodes that read it see an unchanged input. Beside the file, ``.<name>.sdg.json`` (see
:mod:`sdg_factory.fingerprints.manifest`) records what made it: node, parameters, inputs.
Outside a Kedro run (a notebook, a partition of a folder) a save is a plain atomic write.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from typing import Any

from sdg_factory.datasets._fs import atomic_write_bytes, full_path, refresh
from sdg_factory.fingerprints.context import UNCHANGED, NodeFingerprint
from sdg_factory.fingerprints.hashing import digest, stat_key
from sdg_factory.fingerprints.manifest import Manifest, intact, read_manifest, sidecar_path

logger = logging.getLogger(__name__)


def bytes_digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class SingleFileMixin:
    """For datasets with ``_fs``, ``_protocol`` and ``_path`` (one file) that save bytes."""

    writes_atomically = True  # save() writes its final path atomically (see _fs.atomic_write_bytes)
    _binding: NodeFingerprint | None = None

    def bind_fingerprint(self, fingerprint: NodeFingerprint | None) -> None:
        """Called by the hooks before the node that writes this file runs."""
        self._binding = fingerprint

    def _sidecar(self) -> str:
        return sidecar_path(self._path)

    def _read_sidecar(self) -> Manifest:
        return read_manifest(self._fs, self._sidecar(), full_path(self._protocol, self._sidecar()))

    def _skip_save(self, data: Any) -> bool:
        """True for :data:`UNCHANGED` (a skipped node): then ``save`` writes nothing."""
        if data is UNCHANGED:
            self._binding = None
            return True
        return False

    def is_fresh(self, fingerprint: NodeFingerprint) -> bool:
        """True when the file is as the sidecar recorded it and was made with this fingerprint."""
        refresh(self._fs)
        if not self._fs.exists(self._path):
            return False
        manifest = self._read_sidecar()
        item = manifest.items.get("") if manifest.trusted else None
        return bool(item) and manifest.made_by.get("fingerprint") == fingerprint.whole and intact(
            item, {posixpath.basename(self._path): stat_key(self._fs.info(self._path))})

    def _save_bytes(self, body: bytes) -> None:
        binding, self._binding = self._binding, None
        if binding is None:
            atomic_write_bytes(self._fs, self._path, body)
            return
        content = bytes_digest(body)
        name = posixpath.basename(self._path)
        refresh(self._fs)
        unchanged = self._content_digest(self._read_sidecar()) == content
        if not unchanged:
            atomic_write_bytes(self._fs, self._path, body)
        else:
            logger.debug("%s is unchanged; not rewritten", full_path(self._protocol, self._path))
        refresh(self._fs)
        files = {name: list(stat_key(self._fs.info(self._path)))}
        manifest = Manifest(items={"": {"fingerprint": content, "files": files}}, made_by=binding.made_by,
                            partitions=1)
        atomic_write_bytes(self._fs, self._sidecar(), manifest.encode())

    def _content_digest(self, manifest: Manifest | None = None) -> str | None:
        """The digest of the file's bytes (from the sidecar when the file is as recorded)."""
        if not self._fs.exists(self._path):
            return None
        manifest = manifest if manifest is not None else self._read_sidecar()
        item = manifest.items.get("") if manifest.trusted else None
        if item and intact(item, {posixpath.basename(self._path): stat_key(self._fs.info(self._path))}):
            return item["fingerprint"]
        with self._fs.open(self._path, "rb") as handle:
            return bytes_digest(handle.read())

    def content_fingerprint(self) -> str:
        """The fingerprint of this file as an input: a digest of its bytes (absent: a marker)."""
        refresh(self._fs)
        return digest("file", self._content_digest() or "absent")

    def made_by(self) -> dict:
        manifest = self._read_sidecar()
        return {**manifest.made_by, "trusted": manifest.trusted}

    def _describe_path(self) -> dict[str, Any]:
        return {"filepath": full_path(self._protocol, self._path)}
