"""The byte-identity tool of refactors (benchmarks/smoke_identity.py): what it compares and what it
leaves out. (Running it, two smoke runs of every pipeline, is the tool's job, not a test's.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks.smoke_identity import compare, tree_hashes


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _history(path: Path, rows: list[tuple[str, str]], index_first: bool) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE h (id TEXT, at TEXT)")
        if index_first:
            db.execute("CREATE INDEX ix_at ON h (at)")
        db.executemany("INSERT INTO h VALUES (?, ?)", rows)
        if not index_first:
            db.execute("CREATE INDEX ix_at ON h (at)")


def test_run_records_and_timestamps_are_left_out_and_content_is_not(tmp_path):
    common = {"runs/demo/image.png": b"\x89PNG pixels", "runs/demo/.sdg_manifest.json": b"{}",
              "runs/demo/scenes/.sdg_manifest/source_image.png.json": b'{"fingerprint": "x"}',
              "runs/demo/provenance/good_image.yml": b"env: a", "runs/demo/.image.png.sdg.json": b"{}"}
    a = _tree(tmp_path / "a", {**common, "runs/demo/plan.json": b'{"planned_at": "2026-12-01T23:43:52.349999Z"}',
                               "runs/demo/model/2026-12-01T23.49.23.120Z/detector.npz": b"weights"})
    b = _tree(tmp_path / "b", {**common, "runs/demo/plan.json": b'{"planned_at": "2026-12-02T00:01:02.5Z"}',
                               "runs/demo/model/2026-12-02T00.01.02.000Z/detector.npz": b"weights",
                               "runs/demo/provenance/good_image.yml": b"env: b", "runs/demo/.sdg_manifest.json": b"[]"})
    ha, hb = tree_hashes(a), tree_hashes(b)
    assert compare(ha, hb) == []
    assert sorted(ha) == ["runs/demo/image.png", "runs/demo/model/<time>/detector.npz", "runs/demo/plan.json"]

    (b / "runs/demo/image.png").write_bytes(b"\x89PNG other pixels")
    (b / "runs/demo/extra.txt").write_bytes(b"new")
    (b / "runs/demo/plan.json").unlink()
    assert compare(ha, tree_hashes(b)) == ["- runs/demo/plan.json", "+ runs/demo/extra.txt", "~ runs/demo/image.png"]


def test_an_sqlite_file_is_compared_by_its_rows_not_its_page_layout(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    _history(tmp_path / "a/history.sqlite", [("s1", "2026-12-01T23:00:00Z")], index_first=True)
    _history(tmp_path / "b/history.sqlite", [("s1", "2026-12-02T01:00:00Z")], index_first=False)
    _history(tmp_path / "c/history.sqlite", [("s2", "2026-12-01T23:00:00Z")], index_first=True)
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")
    assert compare(tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "c")) == ["~ history.sqlite"]
