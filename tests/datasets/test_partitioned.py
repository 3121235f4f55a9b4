"""The partitioned dataset: lazy partitions, executors, atomic writes, resume, failures."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.datasets._fs import host_token
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.seeding import item_rng, item_seed


def _image(seed: int, size: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)


def _fails_on(pid: str, bad: str) -> np.ndarray:
    if pid == bad:
        raise RuntimeError(f"cannot make {pid}")
    return _image(item_seed(7, pid))


def _dataset(tmp_path, **kwargs) -> PartitionedDataset:
    return PartitionedDataset(path=str(tmp_path / "imgs"), dataset=ImageDataset, filename_suffix=".png", **kwargs)


@pytest.mark.parametrize("executor", ["serial", {"type": "processes", "max_workers": 2}])
def test_lazy_savers_round_trip_through_executor(tmp_path, executor):
    ds = _dataset(tmp_path, executor=executor, progress=False)
    data = {f"mat/x{i}_y0/{i:04d}": functools.partial(_image, i) for i in range(6)}
    ds.save(data)
    loaded = ds.load()
    assert sorted(loaded) == sorted(data)
    for pid, loader in loaded.items():
        np.testing.assert_array_equal(loader(), data[pid]())
    manifest = json.loads((tmp_path / "imgs" / ".sdg_manifest.png.json").read_text())
    assert (manifest["partitions"], manifest["failed"]) == (6, [])
    assert sorted(manifest["items"]) == sorted(data)


def test_failure_is_recorded_and_the_rest_written(tmp_path):
    RUN_FAILURES.drain()
    ds = _dataset(tmp_path, progress=False)
    pids = [f"p{i}" for i in range(4)]
    ds.save({pid: functools.partial(_fails_on, pid, "p2") for pid in pids})
    assert sorted(ds.load()) == ["p0", "p1", "p3"]
    assert ds.failed_partitions() == ["p2"]
    failures = RUN_FAILURES.drain()
    assert [f.partition for f in failures] == ["p2"]
    assert "cannot make p2" in failures[0].error
    # a re-run computes only the missing partition and leaves the others untouched
    before = {p: (tmp_path / "imgs" / f"{p}.png").stat().st_mtime_ns for p in ("p0", "p1", "p3")}
    calls = []

    def make(pid):
        calls.append(pid)
        return _image(item_seed(7, pid))

    ds.save({pid: functools.partial(make, pid) for pid in pids})
    assert calls == ["p2"]
    assert ds.failed_partitions() == []
    assert {p: (tmp_path / "imgs" / f"{p}.png").stat().st_mtime_ns for p in before} == before


def test_unsafe_partition_ids_never_write_outside(tmp_path):
    RUN_FAILURES.drain()
    ds = _dataset(tmp_path, progress=False)
    ds.save({"../escape": _image(1), "/abs/path": _image(2), "ok": _image(3)})
    assert sorted(ds.load()) == ["ok"]
    assert not (tmp_path / "escape.png").exists()
    assert sorted(f.partition for f in RUN_FAILURES.drain()) == ["../escape", "/abs/path"]


def test_leftover_temporaries_are_removed_and_hidden_from_load(tmp_path):
    ds = _dataset(tmp_path, progress=False)
    ds.save({"a": _image(1)})
    stale = tmp_path / "imgs" / f".sdg-tmp-{host_token()}-0-0-deadbeef-b.png"  # its writer (pid 0) is gone
    stale.write_bytes(b"\x89PNG truncated")
    assert sorted(ds.load()) == ["a"]
    ds.save({"a": _image(1)})
    assert not stale.exists()


def test_item_seeds_are_stable_and_distinct():
    assert item_seed(1, "a/b") == item_seed(1, "a/b")
    assert item_seed(1, "a/b") != item_seed(2, "a/b") != item_seed(1, "a/c")
    assert item_rng(3, "x").integers(0, 1 << 30) == item_rng(3, "x").integers(0, 1 << 30)


def test_corrupt_image_names_the_file(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(Exception, match="bad.png"):
        ImageDataset(filepath=str(path)).load()
