"""A user's folder as a node input is fingerprinted by its content, and never written."""

from __future__ import annotations

import cv2
import numpy as np

from sdg_factory.datasets.inspection_folder import InspectionFolderDataset


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_an_inspection_folder_is_fingerprinted_by_content_and_left_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("SDG_FACTORY_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "mine"
    (folder / "images").mkdir(parents=True)
    for i in range(2):
        cv2.imwrite(str(folder / "images" / f"{i}.png"), np.full((8, 8), 40 * i, np.uint8))
    before = _tree(folder)
    dataset = InspectionFolderDataset(source=str(folder))
    first = dataset.content_fingerprint()
    assert dataset.content_fingerprint() == first  # same files: same fingerprint (a re-run is skipped)
    assert _tree(folder) == before  # nothing written beside the user's files (the hash cache is elsewhere)
    cv2.imwrite(str(folder / "images" / "1.png"), np.full((8, 8), 200, np.uint8))
    assert dataset.content_fingerprint() != first  # one changed image: a new fingerprint
    assert InspectionFolderDataset(source="none").content_fingerprint() == \
        InspectionFolderDataset(source=None).content_fingerprint()
