"""One run at a time per run folder: ``runs/<run_name>/.sdg_run.lock``.

Two runs writing the same ``run_name`` would interleave their outputs and their provenance, so
a run takes this lock before its pipeline starts (:mod:`sdg_factory.run_lock_hooks`) and a
second run is refused with :class:`RunLockedError`, which names the holder (pid, host, start
time) and the lock file. The lock records who holds it as JSON::

    {"pid": 4242, "host": "ws-17", "start": 81234567, "started_at": "2025-…", "heartbeat": 1735…}

How a crashed run's lock is not left stuck:

- a local folder (or one mounted over NFS): the file is also locked with ``fcntl.flock`` while
  the run holds it. The kernel drops that lock when the holder dies, however it dies, so a lock
  file whose ``flock`` can be taken is stale by construction and is taken over (with an INFO line
  naming the dead holder). ``flock`` also makes taking the lock atomic.
- an object store (``s3://``…), which has no locks: the lock object is written, read back to
  check that this run's write won, and re-written every :data:`HEARTBEAT_S` seconds. A lock of a
  holder on this host whose process is gone, or whose heartbeat is older than :data:`STALE_S`,
  is taken over. (Two runs starting within the same second on an object store can both believe
  they won; the lock is there to stop the common mistake, not a determined race.)
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import posixpath
import socket
import threading
import time
from typing import Any

import click

from sdg_factory.datasets._fs import full_path, is_object_store, process_alive, process_start

logger = logging.getLogger(__name__)

LOCK_NAME = ".sdg_run.lock"
HEARTBEAT_S = 30.0
STALE_S = 300.0  # an object-store lock not renewed for this long belongs to a dead run


class RunLockedError(click.ClickException):
    """Another live run holds the run folder's lock. A ``click`` exception, so ``kedro run``
    prints it as one ``Error:`` line (no traceback) and exits with status 1."""


def _holder_text(holder: dict) -> str:
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
            f"started {holder.get('started_at', '?')}")


class RunLock:
    """The lock of one run folder (``root``, a path on ``fs``). See the module docstring."""

    def __init__(self, fs: Any, protocol: str, root: str, run_name: str | None = None) -> None:
        self.fs, self.protocol = fs, protocol
        self.path = posixpath.join(root.rstrip("/"), LOCK_NAME)
        self.run_name = run_name or posixpath.basename(root.rstrip("/"))
        self._fd: int | None = None
        self._held = False
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._record = {}

    @property
    def url(self) -> str:
        return full_path(self.protocol, self.path)

    @property
    def held(self) -> bool:
        return self._held

    # --- taking and giving back ------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lock, or raise :class:`RunLockedError` naming the live holder."""
        pid = os.getpid()
        self._record = {"pid": pid, "host": socket.gethostname(), "start": process_start(pid) or 0,
                        "started_at": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                        "run_name": self.run_name}
        folder = posixpath.dirname(self.path)
        if folder:
            self.fs.makedirs(folder, exist_ok=True)
        if is_object_store(self.fs) or not self._acquire_flock():
            self._acquire_by_content()
        self._held = True

    def release(self) -> None:
        """Give the lock back (remove the file). Safe to call twice."""
        if not self._held:
            return
        self._held = False
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        try:
            if self._fd is not None or _same_holder(self._read(), self._record):
                self.fs.rm(self.path)
        except FileNotFoundError:
            pass
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # --- a local folder: flock ------------------------------------------------------------
    def _acquire_flock(self) -> bool:
        """Take the lock with ``flock``; False where the folder does not support it."""
        try:
            import fcntl
        except ImportError:  # not POSIX
            return False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _parse(os.pread(fd, 65536, 0))
                os.close(fd)
                self._refuse(holder)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                    return False
                raise
            try:  # the holder may have removed the file between our open and our flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _parse(os.pread(fd, 65536, 0))
            if previous:
                logger.info("run %r: taking over the lock %s left by a run that ended without releasing "
                            "it (%s)", self.run_name, self.url, _holder_text(previous))
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(self._record).encode(), 0)
            self._fd = fd
            return True

    # --- an object store: the lock's content and a heartbeat ---------------------------------
    def _read(self) -> dict:
        try:
            with self.fs.open(self.path, "rb") as handle:
                return _parse(handle.read())
        except FileNotFoundError:
            return {}

    def _write(self) -> None:
        self.fs.pipe_file(self.path, json.dumps({**self._record, "heartbeat": time.time()}).encode())

    def _acquire_by_content(self) -> None:
        self.fs.invalidate_cache()
        holder = self._read()
        if holder:
            if not _stale(holder):
                self._refuse(holder)
            logger.info("run %r: taking over the lock %s left by a run that ended without releasing it (%s)",
                        self.run_name, self.url, _holder_text(holder))
        self._write()
        self.fs.invalidate_cache()
        holder = self._read()
        if not _same_holder(holder, self._record):
            self._refuse(holder)  # another run wrote the lock at the same moment and won
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="sdg-run-lock-heartbeat", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._write()
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried; the run goes on
                logger.warning("run %r: could not renew the lock %s: %s", self.run_name, self.url, exc)

    def _refuse(self, holder: dict) -> None:
        raise RunLockedError(
            f"run_name {self.run_name!r} is being written by another run (pid {holder.get('pid', '?')} "
            f"on host {holder.get('host', '?')}, started {holder.get('started_at', '?')}); "
            f"its lock is {self.url}. Wait for that run to finish or pick another run_name "
            f"(--params run_name=…). If you are sure no such run is alive, delete the lock file."
        )


def _parse(data: bytes) -> dict:
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        return {"pid": "?", "host": "?", "started_at": "? (unreadable lock file)"}
    return value if isinstance(value, dict) else {}


def _same_holder(a: dict, b: dict) -> bool:
    return all(a.get(key) == b.get(key) for key in ("pid", "host", "start"))


def _stale(holder: dict) -> bool:
    """True when the holder recorded in an (object-store) lock is certainly gone."""
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if not process_alive(holder["pid"], holder.get("start") or None):
            return True
    beat = holder.get("heartbeat")
    return not isinstance(beat, (int, float)) or time.time() - beat > STALE_S
