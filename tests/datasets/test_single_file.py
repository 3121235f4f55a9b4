"""Single-file datasets: atomic writes (a failing write leaves the old file whole), content
fingerprints (same bytes: not rewritten), the sidecar manifest, skipped nodes."""

from __future__ import annotations

import base64
import builtins
import json

import numpy as np
import pytest
from kedro.io import DatasetError

from sdg_factory.datasets import ImageDataset, JSONDataset, JSONLinesDataset, YAMLDataset, _fs
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

    class FullDisk:  # a file opened for writing on a full disk: the temporary exists, writes fail
        def __init__(self, path, mode="rb", *args, **kwargs):
            self.handle = builtins.open(path, mode, *args, **kwargs)

        def write(self, data):
            raise OSError(28, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    monkeypatch.setattr(_fs, "open", FullDisk, raising=False)  # local writes open through the builtin
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


V1, V2 = "2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"


def _versioned(kind: str, path, save: str | None = None, load: str | None = None):
    from kedro.io import DataCatalog

    entry = {"type": f"sdg_factory.datasets.{kind}", "filepath": str(path), "versioned": True}
    catalog = DataCatalog.from_config({"d": entry}, load_versions={"d": load} if load else {},
                                      save_version=save)
    return catalog.get("d")


@pytest.mark.parametrize("kind, name, first, second", [
    ("JSONDataset", "metrics.json", {"f1": 0.5}, {"f1": 0.7}),
    ("YAMLDataset", "cookbook.yaml", {"a": [1]}, {"a": [2]}),
    ("MetricsJSONDataset", "summary.json", {"rois": 3}, {"rois": 4}),
])
def test_versioned_documents_save_a_new_version_and_load_the_newest(tmp_path, kind, name, first, second, recwarn):
    target = tmp_path / name
    one = _versioned(kind, target, save=V1)
    one.bind_fingerprint(_binding("w1"))
    one.save(first)
    two = _versioned(kind, target, save=V2)
    assert two.load() == first and two.is_fresh(_binding("w1"))  # the newest version, as its sidecar says
    two.bind_fingerprint(_binding("w2"))
    two.save(second)

    assert sorted(p.name for p in target.iterdir()) == [V1, V2]
    for version, made_by in ((V1, "w1"), (V2, "w2")):  # each version has its own sidecar
        sidecar = json.loads((target / version / f".{name}.sdg.json").read_text())
        assert sidecar["made_by"]["fingerprint"] == made_by
    latest = _versioned(kind, target)
    assert latest.load() == second and latest.exists()
    assert latest.is_fresh(_binding("w2")) and not latest.is_fresh(_binding("w1"))
    assert latest.made_by()["fingerprint"] == "w2"
    assert _versioned(kind, target, load=V1).load() == first  # --load-versions d:<V1>
    assert latest.content_fingerprint() != _versioned(kind, target, load=V1).content_fingerprint()
    assert latest.list_versions(full_path=False) == [V2, V1]
    assert not [w for w in recwarn if "did not match load version" in str(w.message)]


def test_a_versioned_save_by_a_skipped_node_writes_no_version(tmp_path, recwarn):
    target = tmp_path / "metrics.json"
    first = _versioned("JSONDataset", target, save=V1)
    first.bind_fingerprint(_binding())
    first.save({"f1": 1.0})
    skipped = _versioned("JSONDataset", target)
    assert skipped.is_fresh(_binding())
    skipped.bind_fingerprint(_binding())
    skipped.save(UNCHANGED)
    assert [p.name for p in target.iterdir()] == [V1]
    assert not [w for w in recwarn if "did not match load version" in str(w.message)]
    assert not _versioned("JSONDataset", tmp_path / "absent.json").exists()
    with pytest.raises(DatasetError, match="absent.json' does not exist; run the pipeline"):
        _versioned("JSONDataset", tmp_path / "absent.json").load()


def test_a_versioned_figure_loads_its_newest_png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = tmp_path / "metrics.png"
    for version, size in ((V1, 2), (V2, 3)):
        figure = plt.figure(figsize=(size, size), dpi=20)
        _versioned("FigureDataset", target, save=version).save(figure)
        plt.close(figure)
    latest = _versioned("FigureDataset", target)
    assert latest.load().shape == (60, 60, 4)
    assert _versioned("FigureDataset", target, load=V1).load().shape == (40, 40, 4)
    assert base64.b64decode(latest.preview()) == (target / V2 / "metrics.png").read_bytes()
    with pytest.raises(DatasetError, match="unexpected keyword argument 'version'"):  # images: folders
        _versioned("ImageDataset", tmp_path / "x.png")
