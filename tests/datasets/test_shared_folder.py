"""Two folder datasets in one folder, told apart by suffix (``defects_infer/masks/<id>.png`` and
``<id>.npy``, chosen by ``mask_format``): each keeps its own manifest, an unchanged save rewrites
neither, a switch of format removes exactly the other suffix's items; two that would share one
manifest are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets import ImageDataset, NpyDataset, PartitionedDataset
from sdg_factory.datasets.partitions import check_one_manifest_each
from sdg_factory.fingerprints.context import NodeFingerprint


def fingerprint(whole: str) -> NodeFingerprint:
    return NodeFingerprint("defects.infer_defects", static=whole, whole=whole, made_by={"fingerprint": whole})


def masks() -> dict[str, np.ndarray]:
    return {pid: np.full((8, 12), 255 * (i % 2), np.uint8) for i, pid in enumerate(["a", "lot/b"])}


def save(dataset: PartitionedDataset, data: dict, whole: str) -> None:
    dataset.bind_fingerprint(fingerprint(whole))
    dataset.save(data)


def mtimes(folder) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_png_and_npy_items_in_one_folder_keep_apart(tmp_path):
    folder = tmp_path / "masks"
    png = PartitionedDataset(path=str(folder), dataset=ImageDataset, filename_suffix=".png", progress=False)
    npy = PartitionedDataset(path=str(folder), dataset=NpyDataset, filename_suffix=".npy", progress=False)
    check_one_manifest_each({"masks_png": png, "masks_npy": npy})  # told apart by suffix: allowed

    save(png, masks(), "png-run")
    save(npy, {}, "png-run")  # mask_format png: no npy masks
    written = mtimes(folder)
    assert sorted(written) == [".sdg_manifest.npy.json", ".sdg_manifest.png.json", "a.png", "lot/b.png"]
    assert sorted(json.loads((folder / ".sdg_manifest.png.json").read_text())["items"]) == ["a", "lot/b"]
    assert json.loads((folder / ".sdg_manifest.npy.json").read_text())["items"] == {}

    # the same again: both are fresh (the node would be skipped), and a save writes no item
    assert png.is_fresh(fingerprint("png-run")) and npy.is_fresh(fingerprint("png-run"))
    save(png, masks(), "png-run")
    save(npy, {}, "png-run")
    assert {k: v for k, v in mtimes(folder).items() if not k.startswith(".")} == \
        {k: v for k, v in written.items() if not k.startswith(".")}

    # mask_format npy: the png masks go, the npy masks come, each manifest lists its own
    save(png, {}, "npy-run")
    save(npy, masks(), "npy-run")
    assert sorted(k for k in mtimes(folder) if not k.startswith(".")) == ["a.npy", "lot/b.npy"]
    assert json.loads((folder / ".sdg_manifest.png.json").read_text())["items"] == {}
    assert sorted(json.loads((folder / ".sdg_manifest.npy.json").read_text())["items"]) == ["a", "lot/b"]
    np.testing.assert_array_equal(npy.load()["lot/b"](), masks()["lot/b"])


def test_two_outputs_that_would_share_one_manifest_are_refused(tmp_path):
    one = PartitionedDataset(path=str(tmp_path / "masks"), dataset=ImageDataset, filename_suffix=".png")
    other = PartitionedDataset(path=str(tmp_path / "masks/"), dataset=ImageDataset, filename_suffix=".png")
    with pytest.raises(DatasetError, match=r"catalog entries 'a' and 'b' write the same folder .*"
                                           r"share one fingerprint manifest .*\.sdg_manifest\.png\.json"):
        check_one_manifest_each({"b": other, "a": one, "not_a_folder": None})
