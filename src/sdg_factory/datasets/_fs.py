"""fsspec helpers shared by the datasets: one filesystem per dataset, atomic writes.

Atomic writes differ by storage:

- a local (POSIX) folder: the bytes go to a hidden temporary sibling, which is renamed over the
  final name — a rename is atomic, so a reader sees the old file, no file, or the whole new one;
- an object store (``s3://``, ``gs://``, ``abfs://``…): there is no rename — fsspec's ``mv`` is a
  copy then a delete — but a single PUT is atomic per object: the key appears only when the whole
  body has arrived (a large body goes as a multipart upload, which is likewise invisible until it
  is completed). So the final key is written directly, in one request, from bytes already
  complete in memory. A killed run leaves no object at all (no temporary to clean up either), an
  interrupted multipart upload leaves only invisible parts (an ``AbortIncompleteMultipartUpload``
  lifecycle rule on the bucket reclaims them).
"""

from __future__ import annotations

import posixpath
import uuid
from typing import Any

import fsspec
from kedro.io.core import get_protocol_and_path

TMP_MARK = ".sdg-tmp-"
# protocols of object stores: no atomic rename, but an atomic PUT per object
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "oci", "r2"})


def filesystem(path: str, credentials: dict | None = None, fs_args: dict | None = None):
    """Return ``(fs, protocol, root)`` for ``path`` (local folder or ``s3://…``)."""
    protocol, root = get_protocol_and_path(str(path))
    # kedro-datasets' fs_args may carry open_args_load/open_args_save, which are not filesystem options
    options = {k: v for k, v in (fs_args or {}).items() if not k.startswith("open_args_")}
    fs = fsspec.filesystem(protocol, **(credentials or {}), **options)
    return fs, protocol, root.rstrip("/")


def is_object_store(fs: Any) -> bool:
    """True for S3 and the other object stores, where a PUT is atomic and a rename is not."""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return any(p in OBJECT_STORES for p in protocols)


def refresh(fs: Any) -> None:
    """Forget cached directory listings: other processes (pool or Dask workers) write here too."""
    fs.invalidate_cache()


def full_path(protocol: str, path: str) -> str:
    """The path as a URL that other libraries (and error messages) understand."""
    return path if protocol in ("file", "") else f"{protocol}://{path}"


def temp_sibling(path: str) -> str:
    """A hidden temporary name in the same folder as ``path`` (so a rename is atomic)."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f"{TMP_MARK}{uuid.uuid4().hex[:12]}-{name}")


def is_hidden(relative: str) -> bool:
    """Dot-files and dot-folders (manifests, markers, temporaries) are not partitions."""
    return any(part.startswith(".") for part in relative.split("/"))


def atomic_write_bytes(fs: Any, path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, old, or complete.

    Locally the bytes go to a hidden sibling first and are renamed into place; a run killed at
    any moment leaves at most a hidden temporary, which the next save of the folder removes.
    On an object store the final key is written in one PUT (see the module docstring).
    """
    if is_object_store(fs):
        fs.pipe_file(path, bytes(data))
        return
    folder = posixpath.dirname(path)
    if folder:
        fs.makedirs(folder, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        with fs.open(tmp, "wb") as handle:
            handle.write(data)
        fs.mv(tmp, path)
    except BaseException:
        try:
            if fs.exists(tmp):
                fs.rm(tmp)
        finally:
            raise


def remove_temporaries(fs: Any, root: str, suffix: str | tuple[str, ...] = "") -> int:
    """Delete temporaries (of files ending in ``suffix``) left below ``root``; returns how many."""
    if not fs.exists(root):
        return 0
    stale = [p for p in fs.find(root)
             if posixpath.basename(p).startswith(TMP_MARK) and p.endswith(suffix)]
    for path in stale:
        fs.rm(path)
    return len(stale)
