"""Digests of values and of file contents (content hashes cached by size and mtime)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sdg_factory.listing import find

CHUNK = 1 << 20


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):  # a dict, or a loaded LazyItem (read whole)
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, np.ndarray):
        return {"__ndarray__": hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16).hexdigest(),
                "shape": list(value.shape), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return {"__bytes__": hashlib.blake2b(value, digest_size=16).hexdigest()}
    return {"__repr__": f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"}


def digest(*values: Any) -> str:
    """A stable hex digest of JSON-like values (dict order does not matter; arrays by content)."""
    text = json.dumps([_canonical(v) for v in values], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def stat_key(info: dict) -> tuple[int, float]:
    """``(size, mtime)`` of an fsspec ``info`` record, on a local disk or an object store."""
    mtime = info.get("mtime", info.get("LastModified", info.get("last_modified", 0)))
    if hasattr(mtime, "timestamp"):
        mtime = mtime.timestamp()
    return int(info.get("size") or 0), float(mtime or 0)


def _cache_file() -> Path:
    root = os.environ.get("SDG_FACTORY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "sdg-factory")
    return Path(root) / "content-hashes.json"


class ContentHashCache:
    """Content digests of input files, re-used while a file's size and mtime are unchanged.

    Users' folders (Kit renders, photos, inspection folders) are never written, so the cache
    lives in the user's cache folder (``$SDG_FACTORY_CACHE`` or ``~/.cache/sdg-factory``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, list] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list]:
        if self._entries is None:
            try:
                self._entries = json.loads(_cache_file().read_text())
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def file_digest(self, fs: Any, path: str, url: str, info: dict | None = None) -> str:
        info = info if info is not None else fs.info(path)
        size, mtime = stat_key(info)
        with self._lock:
            hit = self._load().get(url)
            if hit and hit[0] == size and hit[1] == mtime:
                return hit[2]
        h = hashlib.blake2b(digest_size=16)
        with fs.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                h.update(block)
        value = h.hexdigest()
        with self._lock:
            self._load()[url] = [size, mtime, value]
            self._dirty = True
        return value

    def flush(self) -> None:
        """Write the cache (atomically; a failure to write it only costs re-hashing next time)."""
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            path = _cache_file()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self._entries))
                os.replace(tmp, path)
                self._dirty = False
            except OSError:
                pass


CONTENT_HASHES = ContentHashCache()


def tree_fingerprint(fs: Any, root: str, url: str, skip_hidden: bool = False) -> str:
    """A digest of a file's or a folder's bytes (each file's relative name and content hash);
    an absent path has a fingerprint too. Content hashes come from :data:`CONTENT_HASHES`."""
    if not fs.exists(root):
        return digest("absent", url)
    if fs.isdir(root):
        files = sorted(find(fs, root, detail=True).items())
    else:
        files = [(root, fs.info(root))]
    hashes = []
    for path, info in files:
        rel = path[len(root):].lstrip("/")
        if info.get("type", "file") == "directory" or (skip_hidden and any(p.startswith(".") for p in rel.split("/"))):
            continue
        hashes.append((rel, CONTENT_HASHES.file_digest(fs, path, f"{url.rstrip('/')}/{rel}" if rel else url, info)))
    CONTENT_HASHES.flush()
    return digest("tree", hashes)
