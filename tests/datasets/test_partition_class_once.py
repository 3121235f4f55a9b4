"""A partitioned folder resolves its dataset type once (issue 18), and builds the partition
dataset Kedro's ``from_config`` built, with the same errors."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import AbstractDataset, DatasetError

from sdg_factory.datasets import PartitionedDataset


def test_partitions_are_the_datasets_from_config_made(tmp_path, monkeypatch):
    folder = PartitionedDataset(path=str(tmp_path / "maps"), dataset={"type": "sdg_factory.datasets.NpyDataset"},
                                filename_suffix=".npy", progress=False)
    maps = {f"a/m{k}": np.full((3, 4), k, np.float32) for k in range(3)}
    folder.save(maps)
    calls = []
    real = AbstractDataset.from_config.__func__
    monkeypatch.setattr(AbstractDataset, "from_config",
                        classmethod(lambda cls, *a, **k: calls.append(a[0]) or real(cls, *a, **k)))
    fast = folder._dataset_at(folder._file("a/m1"))
    slow = AbstractDataset.from_config("partition:m1.npy", {"type": "sdg_factory.datasets.NpyDataset",
                                                            "filepath": folder._file("a/m1")})
    assert calls == ["partition:m1.npy"]   # only the reference call above went through from_config
    assert type(fast) is type(slow) and fast._describe() == slow._describe()
    assert fast._init_config() == slow._init_config()
    loaded = PartitionedDataset(path=str(tmp_path / "maps"), dataset="sdg_factory.datasets.NpyDataset",
                                filename_suffix=".npy").load()
    assert sorted(loaded) == sorted(maps) and all(np.array_equal(loaded[k](), maps[k]) for k in maps)
    assert calls == ["partition:m1.npy"]


def test_a_bad_partition_config_raises_kedros_error(tmp_path):
    folder = PartitionedDataset(path=str(tmp_path), dataset={"type": "sdg_factory.datasets.NpyDataset",
                                                             "no_such_argument": 1})
    with pytest.raises(DatasetError, match="must only contain arguments valid for the constructor"):
        folder._dataset_at(str(tmp_path / "x.npy"))
    missing = PartitionedDataset(path=str(tmp_path), dataset="sdg_factory.datasets.NoSuchDataset")
    with pytest.raises(DatasetError, match="NoSuchDataset"):
        missing._dataset_at(str(tmp_path / "x.npy"))
