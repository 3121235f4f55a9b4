"""The fingerprint manifest kept beside each dataset's data.

One JSON file per dataset (``.sdg_manifest*.json`` in a folder, ``.<file>.sdg.json`` beside a
single file), written atomically through fsspec, so it works on ``s3://`` too::

    {"format": "sdg-manifest/3",
     "partitions": 12, "failed": [{"partition": "x3_y1", "error": "…"}],
     "made_by": {"node": "pcba.crop.crop_rois", "fingerprint": "…", "algorithm_version": 1,
                 "parameters": {…}, "inputs": {"render_cells": "…"}},
     "items": {"x0_y0": {"fingerprint": "…", "files": {"IC/x0_y0/normal_img/0000.png": [size, mtime]}}},
     "checksum": "…"}

The checksum covers everything else: a corrupt or hand-edited manifest is reported by file and
the items it covered are recomputed, never trusted. It is a digest of the canonical JSON text of
the rest (one ``json.dumps``: a big folder's manifest is checked and written many times per run);
``sdg-manifest/2`` files (checksummed through :func:`~sdg_factory.fingerprints.hashing.digest`)
are still read and trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
from dataclasses import dataclass, field
from typing import Any

from sdg_factory.fingerprints.hashing import digest

logger = logging.getLogger(__name__)

FORMAT = "sdg-manifest/3"
PREVIOUS_FORMAT = "sdg-manifest/2"  # same fields, checksum by digest(): still trusted


def _checksum(doc: dict) -> str:
    """A digest of the JSON text of ``doc`` (keys sorted; values that are not JSON as ``str``)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class Manifest:
    items: dict[str, dict] = field(default_factory=dict)
    made_by: dict = field(default_factory=dict)
    partitions: int = 0
    failed: list[dict] = field(default_factory=list)
    trusted: bool = True  # False when the file was corrupt, edited, or written before fingerprints

    def body(self) -> dict:
        doc = {"format": FORMAT, "partitions": self.partitions, "failed": self.failed,
               "made_by": self.made_by, "items": self.items}
        doc = json.loads(json.dumps(doc, default=str))  # as it reads back (keys as text, tuples as lists)
        return {**doc, "checksum": _checksum(doc)}

    def encode(self) -> bytes:
        return json.dumps(self.body(), indent=1, sort_keys=True, default=str).encode()

    def files(self, pids: Any = None) -> set[str]:
        keys = self.items if pids is None else [p for p in pids if p in self.items]
        return {rel for pid in keys for rel in self.items[pid].get("files", {})}

    def owner_of(self) -> dict[str, str]:
        """``{file: item id}`` for every file the manifest records (built once: an input's
        items all look their files up in it, so a big folder must not rebuild it per item)."""
        owners = self.__dict__.get("_owners")
        if owners is None or owners[0] != len(self.items):
            owners = (len(self.items), {rel: pid for pid, item in self.items.items()
                                        for rel in item.get("files", {})})
            self.__dict__["_owners"] = owners
        return owners[1]


def intact(item: dict, stats: dict[str, tuple[int, float]]) -> bool:
    """True when every file of a manifest item is on disk with the size and mtime recorded."""
    files = item.get("files") or {}
    return all(rel in stats and list(stats[rel]) == list(meta) for rel, meta in files.items())


def read_manifest(fs: Any, path: str, url: str) -> Manifest:
    """The manifest at ``path`` (empty when absent); a damaged one is reported and distrusted."""
    try:
        if not fs.exists(path):
            return Manifest()
        with fs.open(path, "rb") as handle:
            doc = json.loads(handle.read().decode())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("the fingerprint manifest %s is unreadable (%s); every item it covered is "
                       "recomputed", url, exc)
        return Manifest(trusted=False)
    if not isinstance(doc, dict):
        logger.warning("the fingerprint manifest %s is not a JSON object; every item it covered is "
                       "recomputed", url)
        return Manifest(trusted=False)
    if doc.get("format") not in (FORMAT, PREVIOUS_FORMAT):  # written before fingerprints: nothing in it can be trusted
        return Manifest(partitions=int(doc.get("partitions") or 0), failed=list(doc.get("failed") or []),
                        trusted=False)
    checksum = doc.pop("checksum", None)
    expected = _checksum(doc) if doc.get("format") == FORMAT else digest(doc)
    if checksum != expected or not isinstance(doc.get("items"), dict):
        logger.warning("the fingerprint manifest %s was edited or damaged (its checksum does not "
                       "match); its %d item(s) are recomputed, not trusted", url,
                       len(doc.get("items") or {}) if isinstance(doc.get("items"), dict) else 0)
        return Manifest(trusted=False)
    return Manifest(items=doc["items"], made_by=doc.get("made_by") or {}, partitions=int(doc.get("partitions") or 0),
                    failed=list(doc.get("failed") or []))


def sidecar_path(path: str) -> str:
    """Where a single file's manifest lives: ``.<name>.sdg.json`` beside it."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f".{name}.sdg.json")
