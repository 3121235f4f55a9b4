"""What an unchanged save leaves alone: a document's recorded times (``volatile_keys``), a
completion marker made again, and the scene history's rows and fingerprint."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sdg_factory.datasets import JSONDataset
from sdg_factory.datasets.markers import CompletionMarkersDataset
from sdg_factory.datasets.scene_history import SceneHistoryDataset
from sdg_factory.datasets.volatile import keep_recorded_times
from sdg_factory.fingerprints.context import NodeFingerprint


def test_recorded_times_are_kept_only_when_nothing_else_differs():
    old = {"plan": [1, 2], "planned_at": "t1"}
    assert keep_recorded_times({"plan": [1, 2], "planned_at": "t2"}, old, ("planned_at",)) == old
    changed = {"plan": [1, 3], "planned_at": "t2"}
    assert keep_recorded_times(changed, old, ("planned_at",)) is changed
    extra = {"plan": [1, 2], "planned_at": "t2", "more": 1}
    assert keep_recorded_times(extra, old, ("planned_at",)) is extra
    assert keep_recorded_times(changed, None, ("planned_at",)) is changed


def _binding() -> NodeFingerprint:
    return NodeFingerprint("plan_batch", "s", "w", (), {"node": "plan_batch", "fingerprint": "w"})


def test_a_document_made_again_with_new_times_only_keeps_its_file(tmp_path):
    path = tmp_path / "plan.json"
    dataset = JSONDataset(filepath=str(path), save_args={"sort_keys": True}, volatile_keys=["planned_at"])
    sidecar = tmp_path / ".plan.json.sdg.json"

    def save(data: dict) -> None:  # as inside a Kedro run: the hooks bind the node's fingerprint first
        dataset.bind_fingerprint(_binding())
        dataset.save(data)

    save({"scenes": ["a"], "planned_at": "2026-01-01T00:00:00Z"})
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in (path, sidecar)]
    save({"scenes": ["a"], "planned_at": "2026-02-01T00:00:00Z"})
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in (path, sidecar)] == before  # the sidecar too
    save({"scenes": ["b"], "planned_at": "2026-02-01T00:00:00Z"})
    assert dataset.load() == {"scenes": ["b"], "planned_at": "2026-02-01T00:00:00Z"}


def test_a_marker_made_again_keeps_its_time_and_file(tmp_path):
    markers = CompletionMarkersDataset(path=str(tmp_path), marker_name=".done", volatile_keys=["completed_at"],
                                       skip_existing=False, progress=False)
    markers.save({"s1": {"scene_id": "s1", "completed_at": "t1"}})
    marker = tmp_path / "s1" / ".done"
    before = marker.read_bytes(), marker.stat().st_mtime_ns
    markers.save({"s1": {"scene_id": "s1", "completed_at": "t2"}})
    assert (marker.read_bytes(), marker.stat().st_mtime_ns) == before
    markers.save({"s1": {"scene_id": "s1", "completed_at": "t3", "ready_for": ["x"]}})
    assert json.loads(marker.read_text()) == {"scene_id": "s1", "completed_at": "t3", "ready_for": ["x"]}


def _row(scene_id: str, run_name: str, success: bool = True) -> dict:
    return {"scene_id": scene_id, "run_name": run_name, "archetype": "lab", "prompt_hash": "h" + scene_id,
            "prompt_summary": "a lab", "variation_tags": ["lighting:dim"], "success": success,
            "generated_at": datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone.utc),
            "image_backend": "procedural", "prompt_backend": "template", "error": None}


def test_the_history_writes_only_rows_that_changed(tmp_path):
    path = tmp_path / "history.sqlite"
    history = SceneHistoryDataset(filepath=str(path), run_name="a")
    history.save([_row("a-000", "a"), _row("b-000", "b")])
    before = path.read_bytes(), path.stat().st_mtime_ns
    history.save([_row("a-000", "a")])  # already stored as it is
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    history.save([_row("a-000", "a", success=False)])
    assert not history.load().set_index("scene_id").loc["a-000", "success"]
    assert len(history.load()) == 2


def test_the_history_fingerprint_leaves_out_the_run_s_own_rows(tmp_path):
    path = tmp_path / "history.sqlite"
    mine, other = SceneHistoryDataset(filepath=str(path), run_name="a"), SceneHistoryDataset(filepath=str(path))
    mine.save([_row("b-000", "b")])
    fingerprint, everything = mine.content_fingerprint(), other.content_fingerprint()
    mine.save([_row("a-000", "a")])  # the run's own rows: what it rewrites, not what it reads
    assert mine.content_fingerprint() == fingerprint and other.content_fingerprint() != everything
    mine.save([_row("b-001", "b")])  # another run's new row counts
    assert mine.content_fingerprint() != fingerprint
