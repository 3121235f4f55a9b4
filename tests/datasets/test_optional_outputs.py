"""Outputs that may be absent or that report failures are fingerprinted like any file: an
absent ``metrics.json`` is fresh when the same node made "no file", and a skipped failures list
still reports its items to the run."""

from __future__ import annotations

import json

from sdg_factory.datasets.failures import RUN_FAILURES
from sdg_factory.datasets.item_failures import ItemFailuresDataset
from sdg_factory.datasets.optional_json import OptionalJSONDataset
from sdg_factory.fingerprints.context import UNCHANGED, NodeFingerprint


def fingerprint(whole: str) -> NodeFingerprint:
    return NodeFingerprint("defects.evaluate_infer_defects", static=whole, whole=whole,
                           made_by={"fingerprint": whole})


def test_an_absent_optional_output_is_recorded_and_fresh(tmp_path):
    path = tmp_path / "metrics.json"
    dataset = OptionalJSONDataset(filepath=str(path), writable=True)
    dataset.bind_fingerprint(fingerprint("no-labels"))
    dataset.save({})
    assert not path.exists() and dataset.load() is None
    assert dataset.is_fresh(fingerprint("no-labels")) and not dataset.is_fresh(fingerprint("labels"))

    dataset.bind_fingerprint(fingerprint("labels"))
    dataset.save({"images": 3})
    assert json.loads(path.read_text()) == {"images": 3}
    assert dataset.is_fresh(fingerprint("labels")) and not dataset.is_fresh(fingerprint("no-labels"))
    mtime = path.stat().st_mtime_ns
    dataset.save(UNCHANGED)  # a skipped node writes nothing
    assert path.stat().st_mtime_ns == mtime

    dataset.bind_fingerprint(fingerprint("no-labels"))
    dataset.save({})  # the folder holds exactly what this run makes
    assert not path.exists() and dataset.is_fresh(fingerprint("no-labels"))


def test_a_skipped_failures_list_still_reports_its_items(tmp_path):
    path = tmp_path / "failures.json"
    dataset = ItemFailuresDataset(filepath=str(path), label="defects_infer items")
    bad = [{"id": "board_202", "file": "images/board_202.png", "error": "cannot decode", "stage": "infer"}]
    RUN_FAILURES.drain()
    dataset.bind_fingerprint(fingerprint("bad-folder"))
    dataset.save(bad)
    assert [f.partition for f in RUN_FAILURES.drain()] == ["board_202"]
    assert dataset.is_fresh(fingerprint("bad-folder"))
    mtime = path.stat().st_mtime_ns

    dataset.save(UNCHANGED)
    assert path.stat().st_mtime_ns == mtime
    assert [(f.partition, f.error) for f in RUN_FAILURES.drain()] == [
        ("board_202", "images/board_202.png: cannot decode")]
