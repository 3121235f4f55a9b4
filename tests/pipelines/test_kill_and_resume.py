"""A run killed with SIGKILL midway, then re-run: the tree equals an uninterrupted run's, and no
visible file is ever truncated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.kedro_runner import PROJECT_ROOT, prepare_conf, run_pipeline
from tests.pipelines.helpers import tree_digest

PARAMS = {"run_name": "k", "render_patches": "12", "crop_max_emit": "3"}


def _visible_files(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
            yield path


def _check_complete(path: Path) -> None:
    if path.suffix == ".png":
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is not None, f"truncated {path}"
    elif path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".npy":
        np.load(path, allow_pickle=False)


def _digest(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root / "data" / "dig").items() if "/provenance/" not in k}


@pytest.mark.parametrize("kill_when", ["render", "crop"])
def test_sigkill_then_rerun_matches_an_uninterrupted_run(tmp_path, kill_when):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    for root in (reference, killed):
        root.mkdir()
        run_pipeline("pcba_setup", cwd=root)
    run_pipeline("good_image", params=PARAMS, cwd=reference)

    prepare_conf(killed)
    args = ",".join(f"{k}={v}" for k, v in PARAMS.items())
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.kedro_runner", "--cwd", str(killed), "--pipeline", "good_image",
         "--env", "smoke", "--params", args],
        cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    components = killed / "data" / "dig" / "runs" / "k" / "usd2roi-components"
    target = components / ("trigger_0000" if kill_when == "render" else "crop")
    pattern = "rgb_*.png" if kill_when == "render" else "*/*/normal_img/*.png"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            for path in _visible_files(killed / "data" / "dig"):
                try:
                    _check_complete(path)
                except FileNotFoundError:
                    pass  # replaced between listing and reading
            if len(list(target.glob(pattern))) >= 3:
                break
            assert proc.poll() is None, "the run finished before it could be killed; make it longer"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial_digest = _digest(killed)
    assert partial_digest != _digest(reference), "the kill came after the run was complete"
    for path in _visible_files(killed / "data" / "dig"):
        _check_complete(path)

    run_pipeline("good_image", params=PARAMS, cwd=killed)
    assert _digest(killed) == _digest(reference)
    leftovers = [p for p in (killed / "data").rglob(".sdg-tmp-*")]
    assert leftovers == []
