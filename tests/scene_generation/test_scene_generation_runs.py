"""scene_generation end to end on the real configuration (smoke env): ten consecutive runs with
the history carried in SQLite, dry runs, failing and corrupt images, a SIGKILL and a resume."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import yaml

from sdg_factory.backends.text_to_image import TEXT_TO_IMAGE, TextToImageError
from sdg_factory.datasets import PartitionFailuresError
from tests.backends.local_http import scripted_server
from tests.kedro_runner import PROJECT_ROOT, run_pipeline

MARKER = ".scene_generation_complete"


def target_weights() -> dict[str, float]:
    """The target mix, read straight from the YAML (not through the package)."""
    doc = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_scene_generation.yml").read_text())
    raw = {name: float(d["weight"]) for name, d in doc["scene_generation"]["archetype_definitions"].items()}
    return {name: w / sum(raw.values()) for name, w in raw.items()}


def db_rows(root: Path) -> list[dict]:
    path = root / "data/dig/scene_generation/history.sqlite"
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM scene_generation_history")]


def scenes_dir(root: Path, run: str) -> Path:
    return root / "data/dig/runs" / run / "scenes"


def decodes(path: Path) -> bool:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if path.is_file() else None
    return image is not None and image.ndim == 3 and image.shape[2] == 3


def check_invariants(root: Path) -> None:
    """No marker without a complete image; no successful history row without its image."""
    for marker in (root / "data/dig/runs").glob(f"*/scenes/*/{MARKER}"):
        assert decodes(marker.parent / "source_image.png"), marker
        assert json.loads(marker.read_text())["scene_id"] == marker.parent.name
    if (root / "data/dig/scene_generation/history.sqlite").exists():
        for row in db_rows(root):
            if row["success"]:
                assert decodes(scenes_dir(root, row["run_name"]) / row["scene_id"] / "source_image.png"), row


@pytest.fixture(scope="module")
def ten_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenes")
    for i in range(10):
        run_pipeline("scene_generation", env="smoke", params={"run_name": f"day{i}"}, cwd=root)
    return root


def test_ten_runs_converge_to_the_target_mix_without_repeating_a_prompt(ten_runs):
    rows = db_rows(ten_runs)
    assert len(rows) == 100 and all(r["success"] for r in rows)
    counts = {name: sum(r["archetype"] == name for r in rows) for name in target_weights()}
    tv = 0.5 * sum(abs(counts[n] / 100 - w) for n, w in target_weights().items())
    assert tv < 0.1, (tv, counts)
    prompts = [json.loads(line) for p in sorted(ten_runs.glob("data/dig/runs/day*/scene_generation/prompts.jsonl"))
               for line in p.read_text().splitlines()]
    assert len(prompts) == 100
    texts = [re.sub(r"\s+", " ", p["prompt"].strip().lower()) for p in prompts]
    assert len(set(texts)) == 100  # no prompt repeats…
    assert len({r["prompt_hash"] for r in rows}) == 100  # …nor does any hash in the history
    for p in prompts:
        assert hashlib.sha256(re.sub(r"\s+", " ", p["prompt"].strip().lower()).encode()).hexdigest() == p["prompt_hash"]
    # the history was carried: each run planned against the successful scenes of the runs before it
    for i in range(10):
        plan = json.loads((ten_runs / f"data/dig/runs/day{i}/scene_generation/plan.json").read_text())
        assert sum(plan["history_counts"].values()) == 10 * i


def test_every_scene_has_its_image_then_its_marker(ten_runs):
    check_invariants(ten_runs)
    rows = {r["scene_id"]: r for r in db_rows(ten_runs)}
    for i in range(10):
        folders = sorted(p for p in scenes_dir(ten_runs, f"day{i}").iterdir()
                         if p.is_dir() and not p.name.startswith("."))
        assert len(folders) == 10
        for folder in folders:
            image = cv2.imread(str(folder / "source_image.png"))
            assert image.shape == (144, 256, 3)  # smoke: 16:9
            marker = json.loads((folder / MARKER).read_text())
            assert set(marker) >= {"scene_id", "completed_at", "source", "ready_for"}
            assert marker["completed_at"].endswith("Z") and marker["ready_for"] == ["regen3d"]
            row = rows[folder.name]
            assert marker["archetype"] == row["archetype"] and marker["prompt_hash"] == row["prompt_hash"]
            assert len(row["prompt_summary"]) <= 200 and json.loads(row["variation_tags"])


def test_dry_run_writes_plan_and_llm_prompts_only(ten_runs):
    """A dry run with the openai_chat prompt backend: the LLM sees recent prompts of the archetype."""
    answers = [(200, {"choices": [{"message": {"content": f"Prompt: A distinct wide photograph number {i} of "
                                                          "an interior from an elevated corner."}}]})
               for i in (1, 1, 2, 3, 4, 5)]  # the second answer repeats the first: retried
    routes = {("GET", "/v1/models"): [(200, {"data": []})], ("POST", "/v1/chat/completions"): answers}
    before = len(db_rows(ten_runs))
    with scripted_server(routes) as (url, calls):
        run_pipeline("scene_generation", env="smoke", cwd=ten_runs, params={
            "run_name": "dry", "scene_generation": {
                "dry_run": True, "scenes_per_run": 5,
                "prompts": {"backend": "openai_chat", "endpoint": f"{url}/v1", "model": "m",
                            "api_key_env": None, "backoff_s": 0}}})
    run = ten_runs / "data/dig/runs/dry"
    prompts = [json.loads(line) for line in (run / "scene_generation/prompts.jsonl").read_text().splitlines()]
    assert len(prompts) == 5 and all(p["prompt_backend"] == "openai_chat" for p in prompts)
    assert len({p["prompt_hash"] for p in prompts}) == 5
    assert json.loads((run / "scene_generation/plan.json").read_text())["dry_run"] is True
    assert not list(run.rglob("*.png")) and not list(run.rglob(MARKER))
    assert len(db_rows(ten_runs)) == before and not [r for r in db_rows(ten_runs) if r["run_name"] == "dry"]
    first = [c for c in calls if c["method"] == "POST"][0]["json"]["messages"][1]["content"]
    archetype = prompts[0]["archetype"]
    earlier = [r["prompt_summary"] for r in db_rows(ten_runs) if r["archetype"] == archetype]
    assert any(summary in first for summary in earlier)  # the recent history was in the request


@TEXT_TO_IMAGE.register("test_flaky")
class FlakyRenderer:
    """Procedural scenes, except that the named archetypes fail."""

    name = "test_flaky"

    def __init__(self, fail_archetypes=(), **_):
        from sdg_factory.backends.text_to_image.procedural import ProceduralRooms

        self.fail, self.inner = set(fail_archetypes), ProceduralRooms()

    def health_check(self):
        return None

    def generate(self, request):
        if request.options["archetype"] in self.fail:
            raise TextToImageError("simulated backend outage")
        return self.inner.generate(request)


def test_failed_and_corrupt_images_get_no_marker_and_no_success(tmp_path):
    flaky = {"run_name": "f", "scene_generation": {"image": {"backend": "test_flaky", "fail_archetypes": ["kitchen"]}}}
    with pytest.raises(PartitionFailuresError, match="simulated backend outage"):
        run_pipeline("scene_generation", env="smoke", cwd=tmp_path, params=flaky)
    rows = {r["scene_id"]: r for r in db_rows(tmp_path)}
    kitchens = [s for s, r in rows.items() if r["archetype"] == "kitchen"]
    assert kitchens and len(rows) == 10
    for scene_id, row in rows.items():
        folder = scenes_dir(tmp_path, "f") / scene_id
        if scene_id in kitchens:
            assert not row["success"] and "source_image.png" in row["error"]
            assert not (folder / MARKER).exists() and not (folder / "source_image.png").exists()
        else:
            assert row["success"] and (folder / MARKER).exists()
    check_invariants(tmp_path)
    # the backend is back: the same run finishes what is missing
    run_pipeline("scene_generation", env="smoke", cwd=tmp_path, params={"run_name": "f"})
    assert all(r["success"] for r in db_rows(tmp_path)) and len(db_rows(tmp_path)) == 10
    assert len(list(scenes_dir(tmp_path, "f").glob(f"*/{MARKER}"))) == 10
    # an image damaged on disk is no longer what its manifest recorded: it is generated again
    # (never claimed as a success while damaged), and its marker comes back with it
    victim = scenes_dir(tmp_path, "f") / kitchens[0]
    intact = (victim / "source_image.png").read_bytes()
    (victim / "source_image.png").write_bytes(intact[:100])
    (victim / MARKER).unlink()
    run_pipeline("scene_generation", env="smoke", cwd=tmp_path, params={"run_name": "f"})
    row = {r["scene_id"]: r for r in db_rows(tmp_path)}[kitchens[0]]
    assert row["success"] and (victim / "source_image.png").read_bytes() == intact
    assert (victim / MARKER).exists()


def test_a_run_killed_midway_leaves_no_marker_without_its_image_and_resumes(tmp_path):
    params = {"run_name": "k", "scene_generation": {"scenes_per_run": 8, "image": {"width": 640, "height": 360}}}
    code = (f"from tests.kedro_runner import run_pipeline; "
            f"run_pipeline('scene_generation', 'smoke', {params!r}, {str(tmp_path)!r})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)])}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scenes = scenes_dir(tmp_path, "k")
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None and len(list(scenes.glob("*/source_image.png"))) < 2:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    written = {p.parent.name: p.read_bytes() for p in scenes.glob("*/source_image.png")}
    assert 2 <= len(written) < 8
    check_invariants(tmp_path)
    assert not list(scenes.glob(f"*/{MARKER}"))  # killed during the images: no scene is marked yet
    prompts = (tmp_path / "data/dig/runs/k/scene_generation/prompts.jsonl").read_text()

    run_pipeline("scene_generation", env="smoke", cwd=tmp_path, params=params)
    check_invariants(tmp_path)
    assert (tmp_path / "data/dig/runs/k/scene_generation/prompts.jsonl").read_text() == prompts  # same plan
    assert len(list(scenes.glob(f"*/{MARKER}"))) == 8
    assert [r for r in db_rows(tmp_path) if r["success"]].__len__() == 8
    for scene_id, data in written.items():  # images finished before the kill were kept, not redone
        assert (scenes / scene_id / "source_image.png").read_bytes() == data
    assert not [p for p in scenes.rglob("*") if ".sdg-tmp-" in p.name]
