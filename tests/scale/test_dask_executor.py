"""The ``dask`` executor: the executor contract on a real 2-worker cluster, a LocalCluster
of its own, and workers that die mid-task."""

from __future__ import annotations

import functools
import json
import time

import numpy as np
import pytest

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.datasets.executors import EXECUTORS, make_executor
from sdg_factory.datasets.failures import RUN_FAILURES
from tests.scale import faults

SEED = 11


def _fails_on(bad: str, pid: str) -> np.ndarray:
    if pid == bad:
        raise ValueError(f"no image for {pid}")
    return faults.image(SEED, pid)


def _dataset(path, executor) -> PartitionedDataset:
    return PartitionedDataset(path=str(path), dataset=ImageDataset, filename_suffix=".png",
                              executor=executor, progress=False)


def _visible_pngs(root):
    return sorted(p for p in root.rglob("*.png") if not p.name.startswith("."))


def test_make_executor_imports_dask_lazily_and_rejects_unknown_keys():
    executor = make_executor({"type": "dask", "address": "tcp://127.0.0.1:1", "max_workers": 3})
    assert "dask" in EXECUTORS and executor.name == "dask"
    assert executor.scheduler_address() == "tcp://127.0.0.1:1"
    assert make_executor({"type": "dask", "max_workers": 3}).n_workers == 3  # inherited from base
    with pytest.raises(ValueError, match="adress"):
        make_executor({"type": "dask", "adress": "tcp://x:1"})


def test_run_yields_every_partition_with_errors_returned_and_a_bounded_window(dask_cluster):
    executor = make_executor({"type": "dask", "address": dask_cluster.scheduler.address, "in_flight": 3})
    pulled, outcomes = [], []

    def jobs():
        for i in range(10):
            pulled.append(i)
            yield f"p{i}", i

    for pid, error, result in executor.run(_square_or_fail, jobs()):
        outcomes.append((pid, error, result))
        # the jobs are pulled lazily: never more than the window ahead of what has finished
        assert len(pulled) <= len(outcomes) + 3
    assert sorted(pid for pid, _, _ in outcomes) == sorted(f"p{i}" for i in range(10))
    by_pid = {pid: (error, result) for pid, error, result in outcomes}
    assert by_pid["p4"][1] == 16 and by_pid["p4"][0] is None
    assert "ZeroDivisionError" in by_pid["p7"][0] and by_pid["p7"][1] is None


def _square_or_fail(pid: str, job: int) -> int:
    if job == 7:
        return job // 0
    return job * job


def _worker_settings(pid: str, job: int) -> tuple[int, bool]:
    import cv2

    from sdg_factory.datasets import dask_executor

    return cv2.getNumThreads(), dask_executor._WORKER_READY


def test_tasks_run_with_the_pool_workers_settings(dask_cluster):
    """A Dask worker starts with one OpenCV thread per core and malloc trimming at 64 KB (the
    nanny's environment); each task runs with OpenCV capped at the worker's one thread and the
    allocator tuned (allocator.py), as a pool worker does."""
    executor = make_executor({"type": "dask", "address": dask_cluster.scheduler.address})
    outcomes = list(executor.run(_worker_settings, [(f"p{i}", i) for i in range(6)]))
    assert len(outcomes) == 6 and all(error is None for _, error, _ in outcomes)
    assert {result for _, _, result in outcomes} == {(1, True)}


def _identity(pid: str, job):
    return job


def _worker_diagnostics(pid: str, job) -> tuple[bool, float, float]:
    from distributed import get_worker

    worker = get_worker()
    return ("profile" in worker.periodic_callbacks, worker.periodic_callbacks["tick"].callback_time,
            worker.periodic_callbacks["monitor"].callback_time)


@pytest.mark.parametrize("diagnostics", [False, True])
def test_a_local_cluster_runs_with_dasks_diagnostics_slowed_down_unless_asked(diagnostics):
    """The LocalCluster the executor starts: without the statistical profiler, its event-loop
    ticks at 1 s and its system monitor at 2 s (Dask's 20 ms and 0.5 s wake every loop and take
    the GIL from the task); ``diagnostics: true`` keeps Dask's own settings."""
    executor = make_executor({"type": "dask", "n_workers": 1, "diagnostics": diagnostics})
    [(_, error, (profiled, tick_ms, monitor_ms))] = list(executor.run(_worker_diagnostics, [("p0", 0)]))
    assert error is None
    assert (profiled, tick_ms, monitor_ms) == ((True, 20, 500) if diagnostics else (False, 1000, 2000))
    with pytest.raises(ValueError, match="'diagnostics' .* true or false"):
        make_executor({"type": "dask", "diagnostics": "no"})


def test_an_unknown_executor_key_names_the_key_it_most_likely_meant():
    with pytest.raises(ValueError, match=r"'adress' \(did you mean 'address'\?\).*it takes: address,"):
        make_executor({"type": "dask", "adress": "tcp://head:8786"})
    with pytest.raises(ValueError, match=r"'worker_profile' \(now 'diagnostics'\)"):
        make_executor({"type": "dask", "worker_profile": True})


def _sleep_then_identity(pid: str, job):
    time.sleep(0.02)
    return job


def test_short_partitions_go_in_batches_of_the_planned_size(dask_cluster, monkeypatch):
    """Once a partition has been timed, every task holds what lasts ~batch_target_s, down to one
    only in the tail (TAIL_SHARE): no stream of one-partition tasks beside the big ones."""
    from sdg_factory.datasets import dask_executor

    sizes = []

    def recorded(fn, items):
        sizes.append(len(items))
        return payload(fn, items)

    payload = dask_executor.task_payload
    monkeypatch.setattr(dask_executor, "task_payload", recorded)
    executor = make_executor({"type": "dask", "address": dask_cluster.scheduler.address, "batch_target_s": 0.2})
    jobs = [(f"p{i:03d}", i) for i in range(120)]
    by_pid = {pid: (error, result) for pid, error, result in executor.run(_sleep_then_identity, jobs)}
    assert by_pid == {pid: (None, i) for pid, i in jobs}
    assert sum(sizes) == 120 and sizes[:4] == [1, 1, 1, 1]  # two tasks a thread, before any is timed
    threads = 2
    tail = [i for i, size in enumerate(sizes) if sum(sizes[i:]) <= dask_executor.TAIL_SHARE * threads]
    body = sizes[4:tail[0]]
    assert body and min(body) > 1, sizes  # old bound in partitions: [1, 1, 1, 1, 9, 9, 9, 6, 1, 1, …]
    assert len(sizes) <= 4 + 120 / 5 + len(tail), sizes


@pytest.mark.parametrize("batch_target_s", [0, 10])
def test_a_partition_that_does_not_pickle_costs_only_itself(dask_cluster, batch_target_s):
    import threading

    executor = make_executor({"type": "dask", "address": dask_cluster.scheduler.address,
                              "batch_target_s": batch_target_s})
    bad = {3, 30}  # the first task holds one partition, later ones several (batch_target_s=10)
    jobs = [(f"p{i:02d}", threading.Lock() if i in bad else i) for i in range(40)]
    by_pid = {pid: (error, result) for pid, error, result in executor.run(_identity, jobs)}
    assert sorted(by_pid) == [pid for pid, _ in jobs]
    for i in bad:
        error, result = by_pid[f"p{i:02d}"]
        assert result is None and "cannot send the partition to the Dask workers" in error
    assert all(by_pid[f"p{i:02d}"] == (None, i) for i in range(40) if i not in bad)


def test_dask_save_matches_serial_bytes_and_records_failures(tmp_path, dask_cluster):
    RUN_FAILURES.drain()
    pids = [f"MAT/x{i % 3}_y0/{i:04d}" for i in range(8)]
    data = {pid: functools.partial(_fails_on, "MAT/x1_y0/0004", pid) for pid in pids}
    _dataset(tmp_path / "serial", "serial").save(data)
    ds = _dataset(tmp_path / "dask", {"type": "dask", "address": dask_cluster.scheduler.address})
    ds.save(data)
    serial = {p.relative_to(tmp_path / "serial"): p.read_bytes() for p in _visible_pngs(tmp_path / "serial")}
    dask = {p.relative_to(tmp_path / "dask"): p.read_bytes() for p in _visible_pngs(tmp_path / "dask")}
    assert len(dask) == 7 and dask == serial
    assert ds.failed_partitions() == ["MAT/x1_y0/0004"]
    failures = [f for f in RUN_FAILURES.drain() if f.dataset.endswith("/dask")]
    assert len(failures) == 1 and "no image for MAT/x1_y0/0004" in failures[0].error


def test_local_cluster_started_for_the_save_and_closed_after(tmp_path):
    from distributed import LocalCluster

    closed = []
    original = LocalCluster.close

    def close(self, *args, **kwargs):
        closed.append(self.scheduler_address)
        return original(self, *args, **kwargs)

    LocalCluster.close = close
    try:
        ds = _dataset(tmp_path / "imgs", {"type": "dask", "n_workers": 1})
        ds.save({f"p{i}": functools.partial(faults.image, SEED, f"p{i}") for i in range(3)})
    finally:
        LocalCluster.close = original
    assert len(closed) == 1
    for pid, loader in ds.load().items():
        np.testing.assert_array_equal(loader(), faults.image(SEED, pid))


def test_worker_killed_mid_task_is_retried_and_the_partition_written(tmp_path, dask_cluster):
    marker = tmp_path / "died"
    ds = _dataset(tmp_path / "imgs", {"type": "dask", "address": dask_cluster.scheduler.address})
    pids = [f"p{i}" for i in range(6)]
    ds.save({pid: functools.partial(faults.image_or_die_once, SEED, pid, str(marker)) for pid in pids})
    assert marker.exists(), "no worker died: the fault was not injected"
    assert ds.failed_partitions() == []
    assert sorted(ds.load()) == pids
    for pid, loader in ds.load().items():
        np.testing.assert_array_equal(loader(), faults.image(SEED, pid))


def test_worker_killed_mid_write_leaves_no_truncated_or_temporary_file(tmp_path, dask_cluster):
    marker = tmp_path / "died"
    plugin = faults.DieMidWrite(str(marker), after=2)
    dask_cluster.register_plugin(plugin, name=plugin.name)
    try:
        ds = _dataset(tmp_path / "imgs", {"type": "dask", "address": dask_cluster.scheduler.address})
        pids = [f"p{i}" for i in range(8)]
        ds.save({pid: functools.partial(faults.image, SEED, pid) for pid in pids})
    finally:
        dask_cluster.unregister_worker_plugin(plugin.name)
    assert marker.read_text().endswith(".png"), "no worker died mid-write"
    assert sorted(ds.load()) == pids and ds.failed_partitions() == []
    for pid, loader in ds.load().items():
        np.testing.assert_array_equal(loader(), faults.image(SEED, pid))
    assert list((tmp_path / "imgs").rglob(".sdg-tmp-*")) == []


def test_partition_that_keeps_killing_workers_is_recorded_and_the_rest_written(tmp_path, dask_cluster):
    RUN_FAILURES.drain()
    # one task in flight: a healthy partition queued on a worker that the poison kills twice
    # would (rightly, for Dask) be a KilledWorker too; that is not what this test is about
    ds = _dataset(tmp_path / "imgs", {"type": "dask", "address": dask_cluster.scheduler.address, "in_flight": 1})
    data = {f"p{i}": functools.partial(faults.image, SEED, f"p{i}") for i in range(4)}
    data["poison"] = functools.partial(faults.always_die, "poison")
    ds.save(data)
    assert sorted(ds.load()) == ["p0", "p1", "p2", "p3"]
    manifest = json.loads((tmp_path / "imgs" / ".sdg_manifest.png.json").read_text())
    assert [f["partition"] for f in manifest["failed"]] == ["poison"]
    assert "KilledWorker" in manifest["failed"][0]["error"]
    assert [f.partition for f in RUN_FAILURES.drain()] == ["poison"]
    # the re-run computes only what is missing (here: the poison again), nothing else
    ds.save({pid: functools.partial(faults.image, SEED, pid) for pid in data})
    assert ds.failed_partitions() == [] and sorted(ds.load()) == sorted(data)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ds = _dataset(tmp_path / "imgs", {"type": "dask", "address": f"tcp://127.0.0.1:{port}", "connect_timeout": 2})
    with pytest.raises(Exception, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:\d+'.*dask scheduler"):
        ds.save({"p0": functools.partial(faults.image, SEED, "p0")})
    assert not (tmp_path / "imgs" / "p0.png").exists()


def test_items_shared_by_four_folders_are_computed_once_on_the_cluster(tmp_path, dask_cluster):
    """The bare-board layout (datasets/item_parts.py) on Dask workers: the first folder's tasks
    write all four parts, the same bytes as per-part saves; a failing item fails in every folder."""
    from tests.datasets.test_item_parts import IDS, PARTS, calls, data_files, manifest, save_per_part, save_shared

    RUN_FAILURES.drain()
    save_shared(tmp_path / "dask", str(tmp_path / "dask.log"), fail="0003",
                executor={"type": "dask", "address": dask_cluster.scheduler.address})
    save_per_part(tmp_path / "serial", str(tmp_path / "serial.log"), fail="0003")
    assert sorted(line.split()[0] for line in calls(tmp_path / "dask.log")) == IDS  # once each
    assert data_files(tmp_path / "dask") == data_files(tmp_path / "serial")
    for part in PARTS:
        record = manifest(tmp_path / "dask", part)
        assert sorted(record["items"]) == [pid for pid in IDS if pid != "0003"]
        assert [f["partition"] for f in record["failed"]] == ["0003"]
    RUN_FAILURES.drain()
