"""A pool worker that dies (SIGKILL, as the out-of-memory killer sends) costs its own item only:
the item is recorded as failed with the reason, every other item is written, and the pool's
workers never outlive their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sdg_factory.datasets import PartitionedDataset, executors
from sdg_factory.datasets.executors import ProcessExecutor, death_reason
from sdg_factory.datasets.failures import RUN_FAILURES

VICTIM = "p03"


def _die_on_victim(pid: str, job: int) -> str:
    """A job whose worker is SIGKILLed while it computes the chosen item."""
    time.sleep(0.02)
    if pid == VICTIM:
        os.kill(os.getpid(), signal.SIGKILL)
    return f"{pid}:{job}"


def _image_or_die(pid: str) -> np.ndarray:
    if pid == VICTIM:
        os.kill(os.getpid(), signal.SIGKILL)
    return np.full((8, 8, 3), int(pid[1:]), dtype=np.uint8)


@pytest.mark.parametrize("mp_context", ["fork", "spawn"])
def test_a_killed_worker_fails_its_item_and_the_rest_is_computed(mp_context):
    jobs = [(f"p{i:02d}", i) for i in range(12)]
    out = {pid: (error, result) for pid, error, result in
           ProcessExecutor(max_workers=2, mp_context=mp_context).run(_die_on_victim, jobs)}
    assert sorted(out) == [pid for pid, _ in jobs]  # every item answered exactly once
    error, result = out.pop(VICTIM)
    assert result is None
    assert error == "worker process died (signal 9, SIGKILL — often the out-of-memory killer) while computing this item"
    assert out == {pid: (None, f"{pid}:{job}") for pid, job in jobs if pid != VICTIM}


def test_when_the_dead_workers_item_is_unknown_each_running_item_is_retried_alone(monkeypatch):
    """Without the workers' exit codes no item can be blamed: the running ones are each retried
    alone in a fresh pool, and only the one that kills that pool too is recorded as failed."""
    sort = executors._sort_broken
    monkeypatch.setattr(executors, "_sort_broken", lambda broken, started, workers: sort(broken, started, {}))
    jobs = [(f"p{i:02d}", i) for i in range(8)]
    out = {pid: (error, result) for pid, error, result in ProcessExecutor(max_workers=2).run(_die_on_victim, jobs)}
    assert sorted(out) == [pid for pid, _ in jobs]
    assert out.pop(VICTIM) == (
        "worker process died (signal 9, SIGKILL — often the out-of-memory killer) while computing this item "
        "(also when retried alone)", None)
    assert all(error is None for error, _ in out.values())


def test_exit_codes_in_words():
    assert death_reason(-signal.SIGSEGV) == "worker process died (signal 11, SIGSEGV)"
    assert death_reason(3) == "worker process died (exit code 3)"
    assert death_reason(None) == "worker process died (exit status unknown)"


def test_a_dataset_save_records_the_dead_workers_item_and_writes_the_others(tmp_path):
    RUN_FAILURES.drain()
    folder = tmp_path / "images"
    dataset = PartitionedDataset(path=str(folder), dataset="sdg_factory.datasets.ImageDataset",
                                 filename_suffix=".png", executor={"type": "processes", "max_workers": 2},
                                 progress=False)
    from functools import partial

    pids = [f"p{i:02d}" for i in range(10)]
    dataset.save({pid: partial(_image_or_die, pid) for pid in pids})
    written = sorted(p.stem for p in folder.glob("*.png"))
    assert written == [pid for pid in pids if pid != VICTIM]
    assert dataset.failed_partitions() == [VICTIM]
    failures = RUN_FAILURES.drain()
    assert [(f.partition, "signal 9" in f.error) for f in failures] == [(VICTIM, True)]
    assert not list(folder.glob(".sdg-tmp-*"))
    loaded = dataset.load()
    assert int(loaded["p07"]()[0, 0, 0]) == 7


_ORPHAN_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from sdg_factory.datasets.executors import ProcessExecutor

    def work(pid, folder):
        Path(folder, str(os.getpid())).write_text(pid)
        time.sleep(120)  # far longer than the test: only the parent's death can end it early
        return pid

    if __name__ == "__main__":
        executor = ProcessExecutor(max_workers=2, mp_context=sys.argv[2])
        for _ in executor.run(work, [("a", sys.argv[1]), ("b", sys.argv[1])]):
            pass
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by init) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mp_context", ["fork", "spawn"])
def test_workers_die_with_their_parent(tmp_path, mp_context):
    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_SCRIPT)
    marks = tmp_path / "workers"
    marks.mkdir()
    src = str(Path(__file__).resolve().parents[2] / "src")
    parent = subprocess.Popen([sys.executable, str(script), str(marks), mp_context], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": src})
    try:
        deadline = time.monotonic() + 60
        while len(list(marks.iterdir())) < 2:
            assert parent.poll() is None, "the parent ended before its workers started"
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        workers = [int(p.name) for p in marks.iterdir()]
        assert all(_alive(w) for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    for _ in range(100):  # at most 10 s
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:  # leave nothing running whatever the outcome
        os.kill(w, signal.SIGKILL)
    assert survivors == [], "pool workers outlived their parent"
