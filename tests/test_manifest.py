"""The fingerprint manifest's checksum: what is written reads back trusted, an edit does not."""

from __future__ import annotations

import json

import fsspec

from sdg_factory.fingerprints.hashing import digest
from sdg_factory.fingerprints.manifest import PREVIOUS_FORMAT, Manifest, read_manifest


def _write_and_read(tmp_path, body: bytes) -> Manifest:
    path = tmp_path / ".sdg_manifest.json"
    path.write_bytes(body)
    return read_manifest(fsspec.filesystem("file"), str(path), str(path))


def _manifest() -> Manifest:
    # parameters as YAML gives them: integer keys that sort differently as text (9 < 10, "10" < "9"),
    # tuples, nested dicts; what reads back must check out
    return Manifest(items={"x0_y0": {"fingerprint": "ab", "files": {"IC/x0_y0.png": (10871, 1796152419.98)}}},
                    made_by={"node": "crop_rois", "parameters": {"params:p": {9: "a", 10: "b", "k": (1, 2)}}},
                    partitions=1)


def test_a_written_manifest_reads_back_trusted_with_its_items(tmp_path):
    read = _write_and_read(tmp_path, _manifest().encode())
    assert read.trusted
    assert read.items == {"x0_y0": {"fingerprint": "ab", "files": {"IC/x0_y0.png": [10871, 1796152419.98]}}}
    assert read.made_by["parameters"]["params:p"] == {"9": "a", "10": "b", "k": [1, 2]}


def test_a_hand_edited_manifest_is_not_trusted(tmp_path):
    doc = json.loads(_manifest().encode())
    doc["items"]["x0_y0"]["fingerprint"] = "cd"
    assert not _write_and_read(tmp_path, json.dumps(doc).encode()).trusted


def test_a_manifest_of_the_previous_format_is_still_trusted(tmp_path):
    doc = {"format": PREVIOUS_FORMAT, "partitions": 1, "failed": [], "made_by": {"node": "n"},
           "items": {"a": {"fingerprint": "f", "files": {"a.png": [1, 2.0]}}}}
    read = _write_and_read(tmp_path, json.dumps({**doc, "checksum": digest(doc)}).encode())
    assert read.trusted and read.items == doc["items"]
    doc["items"]["a"]["fingerprint"] = "g"  # edited after its checksum was written
    assert not _write_and_read(tmp_path, json.dumps({**doc, "checksum": digest({**doc, "items": {}})}).encode()).trusted
