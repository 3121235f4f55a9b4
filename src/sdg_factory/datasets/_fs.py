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

Temporaries carry their writer's token: ``.sdg-tmp-<host>-<pid>-<start>-<random>-<name>``
(a hash of the host name, the writing process's id and its start time). Clean-up removes only
temporaries whose writer is gone — a dead process on this host, or, for a writer on another
host (a shared folder, an object store), a temporary older than :data:`TEMPORARY_MAX_AGE_H`
hours — so two runs (or a run and a Dask worker) writing the same folder never delete each
other's in-flight files.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import posixpath
import re
import socket
import uuid
from typing import Any

import fsspec
import fsspec.implementations.local
from kedro.io.core import get_protocol_and_path

from sdg_factory.listing import find

TMP_MARK = ".sdg-tmp-"
# protocols of object stores: no atomic rename, but an atomic PUT per object
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "oci", "r2"})
# a temporary whose writer cannot be checked (another host, an old name) is garbage after this long
TEMPORARY_MAX_AGE_H = 24.0
_TOKEN = re.compile(r"^\.sdg-tmp-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]+-")


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


@functools.lru_cache(maxsize=1)
def host_token() -> str:
    """A short, stable name for this machine (a hash: host names stay out of file names)."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _proc_stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (None: not Linux, no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat[stat.rindex(b")") + 2:].split()


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), or None where that
    cannot be read (not Linux, no such process). With the pid it names one process, even after
    the pid is reused."""
    fields = _proc_stat(pid)
    return None if fields is None else int(fields[19])


def process_alive(pid: int, start: int | None = None) -> bool:
    """True if process ``pid`` runs on this host (and, when ``start`` is known, is the same
    process that had that start time rather than a later one that reused the pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        pass
    fields = _proc_stat(pid)
    if fields is not None and fields[0] in (b"Z", b"X"):
        return False  # killed and not yet reaped (a pool worker whose parent died): it writes nothing more
    if start:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


@functools.lru_cache(maxsize=8)
def _token_of(pid: int) -> str:
    return f"{host_token()}-{pid}-{process_start(pid) or 0}"


def writer_token() -> str:
    """``<host>-<pid>-<start>`` of this process: who owns the temporaries it writes (cached by
    pid, so a forked worker gets its own)."""
    return _token_of(os.getpid())


def temp_sibling(path: str) -> str:
    """A hidden temporary name in the same folder as ``path`` (so a rename is atomic), carrying
    this process's :func:`writer_token`."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f"{TMP_MARK}{writer_token()}-{uuid.uuid4().hex[:8]}-{name}")


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
    if _is_local(fs):
        _atomic_write_local(fs._strip_protocol(path), data)
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


def write_bytes_if_changed(fs: Any, path: str, data: bytes) -> bool:
    """:func:`atomic_write_bytes`, unless ``path`` already holds exactly ``data``: an unchanged
    re-run then leaves the file (and its mtime) alone. Returns whether it wrote. The size is
    compared first, so a file that did change is rarely read back."""
    try:
        same = fs.info(path).get("size") == len(data)
    except (FileNotFoundError, OSError):
        same = False
    if same:
        with fs.open(path, "rb") as handle:
            same = handle.read() == data
    if not same:
        atomic_write_bytes(fs, path, data)
    return not same


def _is_local(fs: Any) -> bool:
    return isinstance(fs, fsspec.implementations.local.LocalFileSystem)


def _atomic_write_local(path: str, data: bytes) -> None:
    """:func:`atomic_write_bytes` on a local disk with plain ``os`` calls: the folder is made only
    when the first open finds it missing (not stat-ed for every file of a folder being filled)."""
    tmp = temp_sibling(path)
    try:
        try:
            handle = open(tmp, "wb")  # closed by the with below
        except FileNotFoundError:
            os.makedirs(os.path.dirname(tmp) or ".", exist_ok=True)
            handle = open(tmp, "wb")
        with handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            if os.path.exists(tmp):
                os.remove(tmp)
        finally:
            raise


def _age_hours(fs: Any, path: str) -> float | None:
    try:
        modified = fs.modified(path)
    except (NotImplementedError, OSError, KeyError, ValueError, AttributeError):
        return None
    if modified.tzinfo is None:  # fsspec's local filesystem answers in UTC without a zone
        modified = modified.replace(tzinfo=_dt.timezone.utc)
    return (_dt.datetime.now(_dt.timezone.utc) - modified).total_seconds() / 3600


def orphaned(fs: Any, path: str, max_age_h: float = TEMPORARY_MAX_AGE_H) -> bool:
    """True if the temporary at ``path`` belongs to no live writer: its process (on this host)
    is gone, or — where the writer cannot be checked (another host, a name without a token) —
    it is older than ``max_age_h`` hours. A live writer's temporary is never orphaned."""
    token = _TOKEN.match(posixpath.basename(path))
    if token and token["host"] == host_token():
        return not process_alive(int(token["pid"]), int(token["start"]))
    age = _age_hours(fs, path)
    return age is not None and age > max_age_h


def remove_temporaries(fs: Any, root: str, suffix: str | tuple[str, ...] = "") -> int:
    """Delete the orphaned temporaries (see :func:`orphaned`) of files ending in ``suffix`` left
    below ``root`` by writers that died; returns how many. Temporaries of live writers — this
    run's, another run's on the same folder, a Dask worker's — are left alone."""
    if not fs.exists(root):
        return 0
    stale = [p for p in find(fs, root)
             if posixpath.basename(p).startswith(TMP_MARK) and p.endswith(suffix) and orphaned(fs, p)]
    for path in stale:
        try:
            fs.rm(path)
        except FileNotFoundError:  # another run's clean-up removed it first
            pass
    return len(stale)
