"""Single-file datasets: atomic writes (a failing write leaves the old file whole), content
fingerprints (same bytes: not rewritten), the sidecar manifest, skipped nodes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets import ImageDataset, JSONDataset, JSONLinesDataset, YAMLDataset
from sdg_factory.fingerprints.context import UNCHANGED, NodeFingerprint


def _binding(whole: str = "w1") -> NodeFingerprint:
    return NodeFingerprint("make_it", "s1", whole, (), {"node": "make_it", "fingerprint": whole,
                                                         "parameters": {"params:x": 1}, "inputs": {}})


@pytest.mark.parametrize("make, value", [
    (lambda p: JSONDataset(filepath=str(p / "a.json")), {"a": 1}),
    (lambda p: YAMLDataset(filepath=str(p / "a.yaml")), {"a": [1, 2]}),
    (lambda p: JSONLinesDataset(filepath=str(p / "a.jsonl")), [{"a": 1}, {"b": 2}]),
    (lambda p: ImageDataset(filepath=str(p / "a.png")), np.full((4, 5, 3), 7, np.uint8)),
])
def test_same_bytes_are_not_rewritten_and_the_sidecar_says_what_made_them(tmp_path, make, value):
    dataset = make(tmp_path)
    dataset.bind_fingerprint(_binding())
    dataset.save(value)
    path = next(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    sidecar = json.loads((tmp_path / f".{path.name}.sdg.json").read_text())
    assert sidecar["made_by"]["node"] == "make_it" and sidecar["made_by"]["parameters"] == {"params:x": 1}
    mtime = path.stat().st_mtime_ns

    again = make(tmp_path)
    assert again.is_fresh(_binding()) and not again.is_fresh(_binding("w2"))
    again.bind_fingerprint(_binding("w2"))  # another fingerprint, the same bytes
    again.save(value)
    assert path.stat().st_mtime_ns == mtime
    assert json.loads((tmp_path / f".{path.name}.sdg.json").read_text())["made_by"]["fingerprint"] == "w2"
    fingerprint = again.content_fingerprint()

    path.write_bytes(path.read_bytes() + b"\n")  # a hand edit: the file is no longer as recorded
    assert not make(tmp_path).is_fresh(_binding("w2"))
    assert make(tmp_path).content_fingerprint() != fingerprint


def test_a_failing_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    dataset = JSONDataset(filepath=str(tmp_path / "summary.json"))
    dataset.save({"rois": 4})

    real_open = dataset._fs.open

    def full_disk(path, mode="rb", **kwargs):
        handle = real_open(path, mode, **kwargs)
        if "w" in mode:
            def write(data):
                raise OSError(28, "No space left on device")
            handle.write = write
        return handle

    monkeypatch.setattr(dataset._fs, "open", full_disk)
    with pytest.raises(DatasetError, match="No space left"):
        dataset.save({"rois": 5})
    monkeypatch.undo()
    assert json.loads((tmp_path / "summary.json").read_text()) == {"rois": 4}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left behind


def test_a_skipped_node_writes_nothing(tmp_path):
    dataset = JSONDataset(filepath=str(tmp_path / "a.json"))
    dataset.bind_fingerprint(_binding())
    dataset.save(UNCHANGED)
    assert list(tmp_path.iterdir()) == []
