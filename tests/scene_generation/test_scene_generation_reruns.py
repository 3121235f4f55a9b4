"""Re-runs of scene_generation (smoke env): an unchanged re-run writes nothing — not the plan's
times, not a marker, not a history row — and a changed parameter rewrites what it affects only."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.kedro_runner import run_pipeline

MARKER = ".scene_generation_complete"
RUN = "again"
SMALL = {"scenes_per_run": 4}


def files(dig: Path) -> dict[str, tuple[str, int]]:
    """``relative path -> (sha256, mtime_ns)`` of every file under the dig root: the run folder
    (plan, prompts, scenes, markers, manifests, provenance) and the shared history database."""
    return {p.relative_to(dig).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(dig.rglob("*")) if p.is_file()}


def changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def run(root: Path, **scene_generation) -> None:
    run_pipeline("scene_generation", env="smoke", cwd=root,
                 params={"run_name": RUN, "scene_generation": {**SMALL, **scene_generation}})


def markers(dig: Path) -> dict[str, dict]:
    scenes = dig / "runs" / RUN / "scenes"
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(scenes.glob(f"*/{MARKER}"))}


@pytest.fixture(scope="module")
def twice(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene_reruns")
    run(root)
    dig = root / "data" / "dig"
    first = files(dig)
    run(root)
    return root, dig, first


def test_an_unchanged_rerun_leaves_every_file_as_it_was(twice):
    _, dig, first = twice
    assert any(k.endswith(MARKER) for k in first) and "scene_generation/history.sqlite" in first
    assert sum(k.endswith("source_image.png") for k in first) == 4
    assert changed(first, files(dig)) == []


def test_forced_recompute_of_the_same_content_keeps_plan_markers_and_history(twice):
    """Every node runs again (recompute): the plan, the prompts, the markers and the history
    rows come out the same apart from their times, so their files keep their bytes and mtimes."""
    root, dig, _ = twice
    before = files(dig)
    run_pipeline("scene_generation", env="smoke", cwd=root,
                 params={"run_name": RUN, "recompute": "scene_generation", "scene_generation": SMALL})
    after = files(dig)
    kept = [k for k in before if k.endswith((MARKER, "plan.json", "prompts.jsonl", "history.sqlite"))]
    assert len(kept) == 4 + 3
    assert changed({k: before[k] for k in kept}, {k: after[k] for k in kept}) == []


def test_a_changed_parameter_rewrites_what_it_affects_only(twice):
    root, dig, _ = twice
    before, old_markers = files(dig), markers(dig)

    run(root, ready_for=["regen3d", "sim"])  # only the markers say what they are ready for
    after = files(dig)
    assert {k for k in changed(before, after) if not k.startswith("runs/again/provenance/")} == (
        {f"runs/{RUN}/scenes/{scene}/{MARKER}" for scene in old_markers}
        | {f"runs/{RUN}/scenes/.sdg_manifest-scene_generation_complete.json"})
    new_markers = markers(dig)
    assert all(m["ready_for"] == ["regen3d", "sim"] for m in new_markers.values())
    assert all(new_markers[s]["completed_at"] >= old_markers[s]["completed_at"] for s in old_markers)

    before = after
    run(root, ready_for=["regen3d", "sim"], image={"width": 192, "height": 108})  # new images, same plan
    after = files(dig)
    rewritten = changed(before, after)
    assert sum(k.endswith("source_image.png") for k in rewritten) == 4
    assert sum(k.endswith(MARKER) for k in rewritten) == 4  # each regenerated image is marked anew
    assert not [k for k in rewritten if k.endswith(("plan.json", "prompts.jsonl"))]
    assert all(markers(dig)[s]["image_fingerprint"] != new_markers[s]["image_fingerprint"] for s in new_markers)

    before = after
    run(root, ready_for=["regen3d", "sim"], image={"width": 192, "height": 108})  # and unchanged again
    assert changed(before, files(dig)) == []
    with sqlite3.connect(dig / "scene_generation/history.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(success) FROM scene_generation_history").fetchone() == (4, 4)
