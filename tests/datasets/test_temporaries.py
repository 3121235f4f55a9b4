"""Temporaries carry their writer's token, and a save's clean-up removes only those whose writer
is gone: another live run's in-flight temporaries on the same folder are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from sdg_factory.datasets import PartitionedDataset
from sdg_factory.datasets._fs import (
    TMP_MARK,
    filesystem,
    host_token,
    process_alive,
    process_start,
    remove_temporaries,
    temp_sibling,
    writer_token,
)


@pytest.fixture
def other_process():
    """A live process that is not this one (stands for another run writing the same folder)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _token_of(pid: int) -> str:
    return f"{host_token()}-{pid}-{process_start(pid) or 0}"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporary_names_carry_this_processs_token(tmp_path):
    name = os.path.basename(temp_sibling(str(tmp_path / "a.png")))
    assert name.startswith(f"{TMP_MARK}{writer_token()}-") and name.endswith("-a.png")
    assert str(os.getpid()) in writer_token()
    assert process_alive(os.getpid(), process_start(os.getpid()))
    assert not process_alive(os.getpid(), (process_start(os.getpid()) or 0) + 1)  # a reused pid


def test_clean_up_removes_only_temporaries_of_dead_writers(tmp_path, other_process):
    (tmp_path / "sub").mkdir()
    live_other = tmp_path / "sub" / f"{TMP_MARK}{_token_of(other_process)}-0123abcd-x.png"
    mine = tmp_path / f"{TMP_MARK}{writer_token()}-0123abcd-y.png"
    dead = tmp_path / "sub" / f"{TMP_MARK}{host_token()}-{_dead_pid()}-0-0123abcd-z.png"
    foreign_new = tmp_path / f"{TMP_MARK}00000000-1-1-0123abcd-w.png"  # another host, just written
    foreign_old = tmp_path / f"{TMP_MARK}00000000-1-1-0123abcd-v.png"  # another host, two days old
    legacy_old = tmp_path / f"{TMP_MARK}0123456789ab-u.png"  # a name without a token, two days old
    for path in (live_other, mine, dead, foreign_new, foreign_old, legacy_old):
        path.write_bytes(b"partial")
    two_days_ago = time.time() - 48 * 3600
    for path in (foreign_old, legacy_old):
        os.utime(path, (two_days_ago, two_days_ago))

    fs, _, root = filesystem(str(tmp_path))
    assert remove_temporaries(fs, root) == 3
    assert sorted(p.name for p in tmp_path.rglob(f"{TMP_MARK}*")) == sorted(
        p.name for p in (live_other, mine, foreign_new))


def test_a_save_keeps_another_live_runs_in_flight_temporary(tmp_path, other_process):
    folder = tmp_path / "images"
    folder.mkdir()
    in_flight = folder / f"{TMP_MARK}{_token_of(other_process)}-0123abcd-p1.png"
    in_flight.write_bytes(b"half an image")
    dataset = PartitionedDataset(path=str(folder), dataset="sdg_factory.datasets.ImageDataset",
                                 filename_suffix=".png", progress=False)
    dataset.save({f"p{i}": np.zeros((4, 4, 3), np.uint8) for i in range(3)})
    assert in_flight.read_bytes() == b"half an image"
    assert sorted(p.name for p in folder.glob("p*.png")) == ["p0.png", "p1.png", "p2.png"]


def test_a_killed_writer_not_yet_reaped_is_dead(tmp_path):
    """A pool worker killed with its run stays a zombie until someone reaps it (in a container
    whose first process does not, for good): its temporaries are orphans all the same."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = process_start(proc.pid)
        assert process_alive(proc.pid, start)
        proc.kill()
        deadline = time.time() + 10
        while time.time() < deadline and b") Z" not in open(f"/proc/{proc.pid}/stat", "rb").read():
            time.sleep(0.01)  # the kill is delivered; not waited for, the child stays a zombie
        os.kill(proc.pid, 0)  # still there as far as signals go
        assert not process_alive(proc.pid, start)
        stale = tmp_path / f"{TMP_MARK}{host_token()}-{proc.pid}-{start}-0123abcd-x.json"
        stale.write_bytes(b"{")
        fs, _, root = filesystem(str(tmp_path))
        assert remove_temporaries(fs, root) == 1 and not stale.exists()
    finally:
        proc.wait()
