"""Datasets on a real S3-compatible server (moto on 127.0.0.1): credentials reach fsspec,
writes are atomic per object, and the failure manifest and resume work as they do locally."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from kedro.io import AbstractDataset

from sdg_factory.datasets import ImageDataset, PartitionedDataset
from sdg_factory.datasets._fs import TMP_MARK, atomic_write_bytes, filesystem
from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.datasets.image import decode_image
from tests.scale import faults
from tests.scale.conftest import BUCKET

SEED = 5


@pytest.fixture
def s3(s3_server, monkeypatch, request):
    """The server, with no keys in the environment: only the credentials a dataset is given
    can reach it. Each test writes below its own prefix."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    s3_server.prefix = f"t/{request.node.name}/"
    s3_server.url = f"s3://{BUCKET}/{s3_server.prefix}"
    return s3_server


class HalfThenFail(AbstractDataset):
    """A foreign dataset whose serializer dies halfway through streaming its file."""

    def __init__(self, *, filepath: str, credentials: dict | None = None, fs_args: dict | None = None):
        self._fs, _, self._path = filesystem(filepath, credentials, fs_args)

    def save(self, data: bytes) -> None:
        with self._fs.open(self._path, "wb") as handle:
            handle.write(data[: len(data) // 2])
            raise RuntimeError("serializer failed halfway")

    def load(self):
        raise NotImplementedError

    def _describe(self):
        return {"filepath": self._path}


def _images(pids, maker=faults.image):
    return {pid: functools.partial(maker, SEED, pid) for pid in pids}


def test_atomic_write_on_s3_is_one_put_of_the_final_key(s3, monkeypatch):
    fs, _, root = filesystem(s3.url + "a", s3.credentials)
    calls = []
    # an object store has no rename: no temporary, no mv (the instance is shared: patch, then undo)
    monkeypatch.setattr(fs, "mv", lambda *a, **k: calls.append(a))
    atomic_write_bytes(fs, root + "/x/file.bin", b"payload")
    assert s3.keys(s3.prefix) == [s3.prefix + "a/x/file.bin"] and calls == []
    assert s3.read(s3.prefix + "a/x/file.bin") == b"payload"


def test_partitioned_images_round_trip_with_manifest_and_resume(s3):
    RUN_FAILURES.drain()
    ds = PartitionedDataset(path=s3.url + "imgs", dataset=ImageDataset, filename_suffix=".png",
                            credentials=s3.credentials, progress=False)
    pids = [f"MAT/x{i}_y0/0000" for i in range(4)]

    def make(pid):
        if pid == "MAT/x2_y0/0000":
            raise OSError("backend down")
        return faults.image(SEED, pid)

    ds.save({pid: functools.partial(make, pid) for pid in pids})
    keys = s3.keys(s3.prefix + "imgs/")
    assert [k for k in keys if k.endswith(".png")] == [f"{s3.prefix}imgs/{p}.png" for p in pids if "x2" not in p]
    assert not any(TMP_MARK in k for k in keys)
    manifest = json.loads(s3.read(s3.prefix + "imgs/.sdg_manifest.png.json"))
    assert manifest["failed"] == [{"partition": "MAT/x2_y0/0000", "error": "OSError: backend down"}]
    assert [f.partition for f in RUN_FAILURES.drain()] == ["MAT/x2_y0/0000"]
    # decoded from the bucket, not from memory
    got = decode_image(s3.read(f"{s3.prefix}imgs/MAT/x0_y0/0000.png"))
    np.testing.assert_array_equal(got, faults.image(SEED, "MAT/x0_y0/0000"))
    # resume: only the missing partition is computed, the rest is left as it is
    before = {k: s3.client.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in keys}
    calls = []

    def again(pid):
        calls.append(pid)
        return faults.image(SEED, pid)

    ds.save({pid: functools.partial(again, pid) for pid in pids})
    assert calls == ["MAT/x2_y0/0000"] and ds.failed_partitions() == []
    assert {k: s3.client.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in before if k.endswith(".png")} == {
        k: v for k, v in before.items() if k.endswith(".png")}
    assert sorted(ds.load()) == pids


def test_kedro_datasets_get_the_credentials_and_write_through_a_temporary(s3):
    ds = PartitionedDataset(path=s3.url + "cfg", dataset="kedro_datasets.yaml.YAMLDataset",
                            filename_suffix=".yaml", credentials=s3.credentials, progress=False)
    ds.save({"a/one": {"k": 1}, "b/two": {"k": [2, 2]}})
    assert {pid: loader() for pid, loader in ds.load().items()} == {"a/one": {"k": 1}, "b/two": {"k": [2, 2]}}
    assert not any(TMP_MARK in k for k in s3.keys(s3.prefix))


def test_a_foreign_dataset_that_fails_mid_stream_leaves_no_visible_object(s3):
    # the premise: an fsspec file on S3 commits what was written when closed, even after an error
    fs, _, root = filesystem(s3.url, s3.credentials)
    with pytest.raises(Exception, match="serializer failed halfway"):
        HalfThenFail(filepath=s3.url + "direct.bin", credentials=s3.credentials).save(b"0123456789")
    assert s3.read(s3.prefix + "direct.bin") == b"01234"  # truncated, visible
    # so the partitioned dataset writes foreign datasets to a hidden temporary, then copies
    RUN_FAILURES.drain()
    ds = PartitionedDataset(path=s3.url + "parts", dataset=HalfThenFail, filename_suffix=".bin",
                            credentials=s3.credentials, progress=False)
    ds.save({"p0": b"0123456789"})
    assert s3.keys(s3.prefix + "parts/") == [s3.prefix + "parts/.sdg_manifest.bin.json"]
    assert ds.failed_partitions() == ["p0"]
    RUN_FAILURES.drain()


def test_dask_workers_write_to_s3_and_survive_a_worker_death(s3, dask_cluster, tmp_path):
    marker = tmp_path / "died"
    ds = PartitionedDataset(path=s3.url + "dask", dataset=ImageDataset, filename_suffix=".png",
                            credentials=s3.credentials, progress=False,
                            executor={"type": "dask", "address": dask_cluster.scheduler.address})
    pids = [f"p{i}" for i in range(6)]
    ds.save({pid: functools.partial(faults.image_or_die_once, SEED, pid, str(marker)) for pid in pids})
    assert marker.exists(), "no worker died: the fault was not injected"
    assert ds.failed_partitions() == []
    keys = s3.keys(s3.prefix + "dask/")
    assert [k for k in keys if k.endswith(".png")] == [f"{s3.prefix}dask/{p}.png" for p in pids]
    assert not any(TMP_MARK in k for k in keys)
    for pid in pids:
        got = decode_image(s3.read(f"{s3.prefix}dask/{pid}.png"))
        np.testing.assert_array_equal(got, faults.image(SEED, pid))
