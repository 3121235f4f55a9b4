"""Re-runs of ``defects_infer`` on the user's own (read-only) inspection folder, on the real
pipelines at smoke size: ``bare_board_defects`` writes the folder, ``defects_infer`` inspects a
copy of it. An unchanged re-run does no work (no detector built, no map computed) and rewrites
nothing; a changed threshold setting recomputes what it affects, without refitting, and ends
with the bytes a fresh run makes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from sdg_factory.pipelines.defects_infer import nodes
from tests.kedro_runner import PROJECT_ROOT, prepare_conf, run_pipeline

VERSION = re.compile(r"^model/detector\.npz/[^/]+/")


def all_mtimes(root: Path) -> dict[str, int]:
    """Every file below ``root``, fingerprint manifests included: an unchanged re-run writes none."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def data_tree(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of the data files (manifests left out; the model's version
    folder, a timestamp, named ``<version>``)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.name.startswith("."):
            out[VERSION.sub("model/detector.npz/<version>/", rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def publish_one_board(cwd: Path, board: str = "0603_H100") -> None:
    """``pcba_setup``'s board node for the one board bare_board_defects draws (seconds, not tens)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    conf = prepare_conf(cwd)
    parameters = conf / "base" / "parameters_pcba.yml"
    doc = yaml.safe_load(parameters.read_text())
    doc["pcba_setup"]["boards"] = {board: doc["pcba_setup"]["boards"][board]}
    parameters.write_text(yaml.safe_dump(doc, sort_keys=False))
    with KedroSession.create(project_path=PROJECT_ROOT, env="smoke", conf_source=str(conf)) as session:
        session.run(pipeline_names=["pcba_setup"], node_names=["setup_pcb.publish_demo_boards"])


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    """How often, in the runs after it, defects_infer builds a detector to fit (prepare_detector
    runs) and computes an anomaly map."""
    calls = {"built": 0, "fitted": 0, "maps": 0}

    def counting(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)
        return wrapper

    build = nodes.detectors.build_anomaly_detector
    monkeypatch.setattr(nodes.detectors, "build_anomaly_detector", counting("built", build))
    monkeypatch.setattr(nodes, "fit_on_good", counting("fitted", nodes.fit_on_good))
    monkeypatch.setattr(nodes, "map_of", counting("maps", nodes.map_of))
    return calls


def test_unchanged_rerun_does_no_work_and_a_threshold_change_recomputes_without_refit(tmp_path, request):
    dig = tmp_path / "data" / "dig"
    publish_one_board(tmp_path)
    run_pipeline("bare_board_defects", params={"run_name": "bb"}, cwd=tmp_path)
    own = tmp_path / "own"  # the user's folder: images/, golden/, masks/, boxes/, classes.txt
    shutil.copytree(dig / "runs/bb/bare_board", own)
    set_writable(own, False)
    request.addfinalizer(lambda: set_writable(own, True))
    before = {p.relative_to(own).as_posix(): p.read_bytes() for p in own.rglob("*") if p.is_file()}
    params = {"run_name": "R", "input_dir": str(own), "calib_dir": str(own), "detector": "golden_template"}
    out = dig / "runs/R/defects_infer"

    run_pipeline("defects_infer", params=params, cwd=tmp_path)
    first, first_data = all_mtimes(out), data_tree(out)
    assert {"masks/0000.png", "metrics.json", "failures.json", "anomaly_maps/0000.npy"} <= set(first_data)
    assert len(list(out.glob("model/detector.npz/*/detector.npz"))) == 1

    calls = request.getfixturevalue("counted")
    run_pipeline("defects_infer", params=params, cwd=tmp_path)
    assert all_mtimes(out) == first  # not a data file, sidecar or manifest rewritten
    assert calls == {"built": 0, "fitted": 0, "maps": 0}  # no node ran
    assert {p.relative_to(own).as_posix(): p.read_bytes() for p in own.rglob("*") if p.is_file()} == before

    # a threshold-related setting: labelled_f1 calibrates again and the defects are cut again
    changed = {**params, "defects_infer": {"iou_threshold": 0.5}}
    run_pipeline("defects_infer", params=changed, cwd=tmp_path)
    assert calls["built"] == 0 and calls["fitted"] == 0 and calls["maps"] > 0  # the detector is reused
    after = all_mtimes(out)
    assert len(list(out.glob("model/detector.npz/*/detector.npz"))) == 1  # no new version
    for rel in ("thresholds.json", "metrics.json", "infer_config.json"):
        assert after[rel] != first[rel], rel
    assert json.loads((out / "metrics.json").read_text())["regions"]["iou_threshold"] == 0.5
    assert after["settings.json"] == first["settings.json"] and after["fit_split.json"] == first["fit_split.json"]

    run_pipeline("defects_infer", params={**changed, "run_name": "fresh"}, cwd=tmp_path)
    assert data_tree(out) == data_tree(dig / "runs/fresh/defects_infer")
