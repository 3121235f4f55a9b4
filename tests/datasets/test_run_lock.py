"""The run folder's lock: one live holder at a time, a dead holder's lock taken over."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdg_factory.datasets import run_lock
from sdg_factory.datasets._fs import filesystem
from sdg_factory.datasets.run_lock import LOCK_NAME, RunLock, RunLockedError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _lock(folder: Path) -> RunLock:
    fs, protocol, root = filesystem(str(folder))
    return RunLock(fs, protocol, root)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_holder_is_refused_until_the_first_releases(tmp_path):
    first = _lock(tmp_path / "runs" / "r1")
    first.acquire()
    holder = json.loads((tmp_path / "runs" / "r1" / LOCK_NAME).read_text())
    assert (holder["pid"], holder["host"]) == (os.getpid(), socket.gethostname())
    with pytest.raises(RunLockedError, match=rf"run_name 'r1' is being written by another run \(pid {os.getpid()} "):
        _lock(tmp_path / "runs" / "r1").acquire()
    first.release()
    assert not (tmp_path / "runs" / "r1" / LOCK_NAME).exists()
    with _lock(tmp_path / "runs" / "r1") as again:
        assert again.held


def test_a_live_process_holds_it_and_its_death_frees_it(tmp_path, caplog):
    folder = tmp_path / "runs" / "r2"
    code = ("import sys, time; from sdg_factory.datasets._fs import filesystem; "
            "from sdg_factory.datasets.run_lock import RunLock; fs, p, r = filesystem(sys.argv[1]); "
            "RunLock(fs, p, r).acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=f"pid {holder.pid} on host"):
            _lock(folder).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (folder / LOCK_NAME).exists()  # a killed run cannot remove its lock file ...
    with caplog.at_level(logging.INFO, logger=run_lock.__name__):
        with _lock(folder):  # ... but it no longer holds it
            pass
    assert (f"taking over the lock {folder / LOCK_NAME} left by a run that ended without releasing it "
            f"(pid {holder.pid}") in caplog.text


def test_a_stale_lock_file_of_a_dead_pid_is_taken_over(tmp_path, caplog):
    folder = tmp_path / "runs" / "r3"
    folder.mkdir(parents=True)
    dead = _dead_pid()
    (folder / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "start": 1,
                                                "started_at": "yesterday"}))
    with caplog.at_level(logging.INFO, logger=run_lock.__name__):
        with _lock(folder) as lock:
            assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
            assert lock.held
    assert f"(pid {dead} on host {socket.gethostname()}, started yesterday)" in caplog.text


def test_on_an_object_store_the_lock_is_its_content_and_heartbeat(tmp_path, monkeypatch, caplog):
    """No flock on an object store: a live holder's lock refuses, a dead pid's (this host) or an
    unrenewed one's (another host) is taken over."""
    monkeypatch.setattr(run_lock, "is_object_store", lambda fs: True)
    folder = tmp_path / "runs" / "r4"
    first = _lock(folder)
    first.acquire()
    with pytest.raises(RunLockedError, match="is being written by another run"):
        _lock(folder).acquire()
    first.release()
    assert not (folder / LOCK_NAME).exists()

    for holder in ({"pid": _dead_pid(), "host": socket.gethostname(), "heartbeat": time.time()},
                   {"pid": 1, "host": "elsewhere", "heartbeat": time.time() - 2 * run_lock.STALE_S}):
        (folder / LOCK_NAME).write_text(json.dumps(holder))
        with caplog.at_level(logging.INFO, logger=run_lock.__name__), _lock(folder):
            assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
        assert f"(pid {holder['pid']} on host {holder['host']}" in caplog.text
    (folder / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "elsewhere", "heartbeat": time.time()}))
    with pytest.raises(RunLockedError, match="pid 1 on host elsewhere"):
        _lock(folder).acquire()
