"""A loaded folder item reads only the parts a consumer uses (datasets/lazy_item.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sdg_factory.datasets.image import encode_image
from sdg_factory.datasets.masked_images import MaskedImageFolder
from sdg_factory.datasets.yolo import YoloItems, YoloSegDataset
from sdg_factory.fingerprints.hashing import digest


def _images(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    mask = (rng.random((24, 32)) > 0.5).astype(np.uint8) * 255
    folder = MaskedImageFolder(path=str(tmp_path / "combined"))
    folder.save({"a": {"image": image, "mask": mask}, "b": {"image": image, "mask": None}})
    return folder, image, mask


def test_a_mask_is_read_without_decoding_its_image(tmp_path):
    folder, image, mask = _images(tmp_path)
    (tmp_path / "combined" / "a.png").write_bytes(b"not a png")  # decoding the image would fail
    item = MaskedImageFolder(path=str(tmp_path / "combined")).load()["a"]()
    np.testing.assert_array_equal(item["mask"], mask)
    with pytest.raises(Exception, match="a.png"):
        item["image"]


def test_a_lazy_item_is_the_dict_it_stands_for(tmp_path):
    folder, image, mask = _images(tmp_path)
    loaded = MaskedImageFolder(path=str(tmp_path / "combined")).load()
    a, b = loaded["a"](), loaded["b"]()
    assert sorted(a) == ["image", "mask"] and b["mask"] is None and "mask" in b
    plain = dict(a)
    np.testing.assert_array_equal(plain["image"], image)
    again = pickle.loads(pickle.dumps(a))
    assert type(again) is dict and np.array_equal(again["mask"], mask)
    assert digest(a) == digest(plain)  # fingerprints see its content, not the object
    # saved as it was loaded: the same pixels in another folder
    other = MaskedImageFolder(path=str(tmp_path / "other"))
    other.save({"a": a})
    np.testing.assert_array_equal(other.load()["a"]()["image"], image)


def test_a_yolo_label_is_read_without_decoding_its_image(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    dataset = YoloSegDataset(path=str(tmp_path / "yolo"))
    dataset.save(YoloItems(["mug"], {"train/x": {"image": image, "label": "0 0.1 0.1 0.5 0.1 0.5 0.5"}}))
    (tmp_path / "yolo" / "train" / "images" / "x.png").write_bytes(encode_image(image, ".png")[:20])
    item = YoloSegDataset(path=str(tmp_path / "yolo")).load().items["train/x"]()
    assert item["label"] == "0 0.1 0.1 0.5 0.1 0.5 0.5\n"
    with pytest.raises(Exception, match="x.png"):
        item["image"]
