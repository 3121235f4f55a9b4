"""fsspec helpers shared by the datasets: one filesystem per dataset, atomic writes."""

from __future__ import annotations

import posixpath
import uuid
from typing import Any

import fsspec
from kedro.io.core import get_protocol_and_path

TMP_MARK = ".sdg-tmp-"


def filesystem(path: str, credentials: dict | None = None, fs_args: dict | None = None):
    """Return ``(fs, protocol, root)`` for ``path`` (local folder or ``s3://…``)."""
    protocol, root = get_protocol_and_path(str(path))
    fs = fsspec.filesystem(protocol, **(credentials or {}), **(fs_args or {}))
    return fs, protocol, root.rstrip("/")


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

    The bytes go to a hidden sibling first and are renamed into place; a run killed at any
    moment leaves at most a hidden temporary, which the next save of the folder removes.
    """
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


def remove_temporaries(fs: Any, root: str) -> int:
    """Delete temporaries left below ``root`` by a killed run; returns how many."""
    if not fs.exists(root):
        return 0
    stale = [p for p in fs.find(root) if posixpath.basename(p).startswith(TMP_MARK)]
    for path in stale:
        fs.rm(path)
    return len(stale)
