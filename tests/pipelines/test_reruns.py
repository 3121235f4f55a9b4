"""Re-runs that are always right: on the real pipelines at smoke size, a re-run after a change
ends with the tree a fresh run makes; an unchanged re-run rewrites nothing; what a user points
at is never written; a damaged manifest is reported and its items recomputed."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import cv2
import pytest
import yaml

from tests.kedro_runner import prepare_conf, run_pipeline
from tests.pipelines.helpers import decode, is_manifest


def run_tree(dig: Path, run: str) -> dict[str, str]:
    """``relative path -> sha256`` of a run's data files (manifests and provenance left out); the
    run's own name and root, which resolved cookbooks record, are replaced by placeholders."""
    root = dig / "runs" / run
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or is_manifest(rel) or rel.startswith("provenance/"):
            continue
        data = path.read_bytes().replace(str(dig).encode(), b"<ROOT>")
        data = data.replace(f"/runs/{run}/".encode(), b"/runs/<RUN>/")
        data = data.replace(f'"run_name": "{run}"'.encode(), b'"run_name": "<RUN>"')
        out[rel] = hashlib.sha256(data).hexdigest()
    return out


def mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and not is_manifest(p.relative_to(root).as_posix())
            and "provenance" not in p.relative_to(root).parts}


def folder_bytes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    run_pipeline("pcba_setup", cwd=tmp_path)
    return tmp_path


def test_changed_crop_max_emit_recomputes_and_equals_a_fresh_run(project):
    dig = project / "data" / "dig"
    run_pipeline("good_image", params={"run_name": "x", "crop_max_emit": "1"}, cwd=project)
    one = run_tree(dig, "x")
    assert sum(1 for k in one if "/normal_img/" in k) == 4  # 4 cells, one ROI each

    run_pipeline("good_image", params={"run_name": "x", "crop_max_emit": "3"}, cwd=project)
    run_pipeline("good_image", params={"run_name": "fresh", "crop_max_emit": "3"}, cwd=project)
    again, fresh = run_tree(dig, "x"), run_tree(dig, "fresh")
    assert again == fresh
    assert sum(1 for k in again if "/normal_img/" in k) > 4
    assert yaml.safe_load((dig / "runs/x/usd2roi-components/day0_crop.yaml").read_text())["max_emit"] == 3

    # and back down: the ROIs the smaller cap no longer makes are removed
    run_pipeline("good_image", params={"run_name": "x", "crop_max_emit": "1"}, cwd=project)
    assert run_tree(dig, "x") == one


def test_unchanged_rerun_rewrites_no_data_file(project):
    dig = project / "data" / "dig"
    run_pipeline("good_image", params={"run_name": "u"}, cwd=project)
    before = mtimes(dig)
    run_pipeline("good_image", params={"run_name": "u"}, cwd=project)
    assert mtimes(dig) == before
    # provenance describes the bytes on disk: each output with the node and parameters that made it
    record = yaml.safe_load((dig / "runs/u/provenance/good_image.yml").read_text())
    crops = record["outputs"]["roi_crops"]
    assert crops["node"] == "pcba.crop.crop_rois" and crops["trusted"] and crops["items"] == 4
    assert set(crops["inputs"]) == {"render_cells", "day0_crop_resolved", "crop_semantic_labels"}


def test_changed_board_layout_rerenders_the_board(project):
    dig = project / "data" / "dig"
    run_pipeline("good_image", params={"run_name": "b"}, cwd=project)
    old_usd = (dig / "datasets/pcb/assets/0603_H100/spark_lighting.usd").read_bytes()
    old_rgb = (dig / "runs/b/usd2roi-components/trigger_0000/rgb_x0_y0.png").read_bytes()

    smoke = project / "conf" / "smoke" / "parameters_pcba.yml"
    doc = yaml.safe_load(smoke.read_text())
    doc["pcba_setup"]["boards"] = {"0603_H100": {"layout": {"passives_per_cell": [1, 2]}}}
    smoke.write_text(yaml.safe_dump(doc))
    run_pipeline("pcba_setup", cwd=project)
    assert (dig / "datasets/pcb/assets/0603_H100/spark_lighting.usd").read_bytes() != old_usd
    run_pipeline("good_image", params={"run_name": "b"}, cwd=project)
    run_pipeline("good_image", params={"run_name": "b-fresh"}, cwd=project)
    assert (dig / "runs/b/usd2roi-components/trigger_0000/rgb_x0_y0.png").read_bytes() != old_rgb
    assert run_tree(dig, "b") == run_tree(dig, "b-fresh")


def test_kit_render_folder_is_read_only_and_flows_through(project, tmp_path):
    dig = project / "data" / "dig"
    run_pipeline("pcba_render", params={"run_name": "kit-source"}, cwd=project)
    kit = tmp_path / "kit" / "trigger_0000"  # stands in for an Omniverse Kit scan_grid output
    shutil.copytree(dig / "runs/kit-source/usd2roi-components/trigger_0000", kit,
                    ignore=shutil.ignore_patterns(".*", "metadata.json"))
    before = folder_bytes(kit.parent)

    run_pipeline("good_image", params={"run_name": "k", "render_dir": str(kit)}, cwd=project)
    assert folder_bytes(kit.parent) == before  # not a byte of the user's folder changed
    crops = sorted((dig / "runs/k/usd2roi-components/crop").glob("*/*/normal_img/*.png"))
    assert crops and all(decode(p).shape[2] == 4 for p in crops)
    assert not list((dig / "runs/k/usd2roi-components/trigger_0000").glob("rgb_*.png"))  # nothing rendered
    assert (dig / "runs/k/augment/crop").exists()

    # a changed Kit cell is seen by content: only that cell's crops are recomputed
    crop_mtimes = {p: p.stat().st_mtime_ns for p in crops}
    rgb = kit / "rgb_x0_y0.png"
    image = decode(rgb)
    image[..., :3] = 255 - image[..., :3]
    cv2.imwrite(str(rgb), image)
    run_pipeline("good_image", params={"run_name": "k", "render_dir": str(kit)}, cwd=project)
    changed = {p.parts[-3] for p in crops if p.exists() and p.stat().st_mtime_ns != crop_mtimes[p]}
    assert changed == {"x0_y0"}


def test_taxonomy_change_removes_old_defects_and_maps(project):
    dig = project / "data" / "dig"
    params = {"run_name": "t", "anomaly_types_json": '[["passive_component","missing"]]'}
    run_pipeline("texture_defect_day0", params={**params, "anomaly_types_json":
                                                '[["passive_component","missing"],["passive_component","excess_solder"]]'},
                 cwd=project)
    images = dig / "runs/t/anomaly/images"
    assert any("excess_solder" in p.name for p in images.rglob("*.png"))
    run_pipeline("texture_defect_day0", params=params, cwd=project)
    names = [p.name for p in images.rglob("*.png")]
    assert names and all("__missing" in n for n in names)
    labels = [json.loads(line) for line in (dig / "runs/t/anomaly/labels.jsonl").read_text().splitlines()]
    assert len(labels) == len(names)
    run_pipeline("anomaly_detection", params={"run_name": "t"}, cwd=project)
    maps = list((dig / "runs/t/defects/anomaly_maps/defect").rglob("*.npy"))
    assert len(maps) == len(labels)


def test_damaged_manifest_is_reported_and_its_items_recomputed(project, caplog):
    dig = project / "data" / "dig"
    run_pipeline("good_image", params={"run_name": "m"}, cwd=project)
    crop = dig / "runs/m/usd2roi-components/crop"
    manifest = crop / ".sdg_manifest.json"
    doc = json.loads(manifest.read_text())
    cell = sorted(doc["items"])[0]
    doc["items"][cell]["fingerprint"] = "0" * 32  # a hand edit: the checksum no longer matches
    manifest.write_text(json.dumps(doc))
    roi = next(crop.glob(f"*/{cell}/normal_img/0000.png"))
    roi.write_bytes(b"not a png")  # and a damaged data file it would otherwise have vouched for
    with caplog.at_level(logging.WARNING):
        run_pipeline("good_image", params={"run_name": "m"}, cwd=project)
    assert any(".sdg_manifest.json" in r.getMessage() and "recomputed" in r.getMessage() for r in caplog.records)
    assert decode(roi).shape[2] == 4
    run_pipeline("good_image", params={"run_name": "m-fresh"}, cwd=project)
    assert run_tree(dig, "m") == run_tree(dig, "m-fresh")


def test_recompute_forces_a_node_and_execution_mode_new(project):
    dig = project / "data" / "dig"
    run_pipeline("good_image", params={"run_name": "f"}, cwd=project)
    before = mtimes(dig / "runs/f")
    run_pipeline("good_image", params={"run_name": "f", "recompute": "crop_rois"}, cwd=project)
    after = mtimes(dig / "runs/f")
    changed = {k for k in after if after[k] != before.get(k)}
    # the crops are rewritten (same fingerprints: what is made from them is left alone); not the render
    assert any(k.startswith("usd2roi-components/crop/") for k in changed)
    assert not any(k.startswith("usd2roi-components/trigger_0000/") for k in changed)
    again = mtimes(dig / "runs/f")
    run_pipeline("good_image", params={"run_name": "f"}, cwd=project)
    assert mtimes(dig / "runs/f") == again  # the next plain run skips them all again

    runs = {p.name for p in (dig / "runs").iterdir()}
    run_pipeline("pcba_render", params={"execution_mode": "new"}, cwd=project)
    new = {p.name for p in (dig / "runs").iterdir()} - runs
    assert len(new) == 1 and len(next(iter(new))) == len("20261201_120000")
    run_pipeline("pcba_crop", params={"execution_mode": "last"}, cwd=project)
    assert list((dig / "runs" / next(iter(new)) / "usd2roi-components/crop").glob("*/*/normal_img/*.png"))


def test_bad_rerun_parameters_are_refused(project):
    from sdg_factory.parameter_checks import ParameterError

    with pytest.raises(ParameterError, match=r"'execution_mode' = 'newest' .*'by_name', 'new' or 'last'"):
        run_pipeline("pcba_render", params={"execution_mode": "newest"}, cwd=project)
    with pytest.raises(ParameterError, match=r"'start_from_step' = 'zero'"):
        run_pipeline("pcba_render", params={"start_from_step": "zero"}, cwd=project)
    assert {p.name for p in (project / "data" / "dig" / "runs").iterdir()} == {"demo"}  # pcba_setup's provenance only


def test_recompute_names_a_node_with_or_without_its_namespace():
    from kedro.pipeline import node

    from sdg_factory.rerun_hooks import FingerprintHooks, forced_names

    crop = node(lambda x: x, "render_cells", "roi_crops", name="crop_rois", namespace="pcba.crop")
    render = node(lambda x: x, "a", "render_cells", name="render_scan_grid", namespace="pcba.render")
    hooks = FingerprintHooks()
    forced = {}
    for recompute in ("crop_rois", "pcba.crop.crop_rois", "roi_crops", "pcba.crop", "pcba", "all",
                      "render_scan_grid", "crop"):
        hooks._forced, _ = forced_names(recompute, None)
        forced[recompute] = [n.name for n in (crop, render) if hooks._is_forced(n)]
    assert forced == {"crop_rois": ["pcba.crop.crop_rois"], "pcba.crop.crop_rois": ["pcba.crop.crop_rois"],
                      "roi_crops": ["pcba.crop.crop_rois"], "pcba.crop": ["pcba.crop.crop_rois"],
                      "pcba": ["pcba.crop.crop_rois", "pcba.render.render_scan_grid"],
                      "all": ["pcba.crop.crop_rois", "pcba.render.render_scan_grid"],
                      "render_scan_grid": ["pcba.render.render_scan_grid"], "crop": []}


def test_rerun_hooks_check_their_values_too():
    from sdg_factory.rerun_hooks import RerunConfigError, forced_names, resolve_run_name

    assert forced_names("crop_rois+register_to_crop", None) == ({"crop_rois", "register_to_crop"}, None)
    assert forced_names(None, "3") == (set(), 3)
    with pytest.raises(RerunConfigError, match="must be a step number"):
        forced_names(None, 0)
    with pytest.raises(RerunConfigError, match="is not one of"):
        resolve_run_name("newest", "x", "data/dig")


def test_from_nodes_refuses_a_stale_upstream_input(project):
    from kedro.framework.session import KedroSession

    from sdg_factory.rerun_hooks import RerunConfigError
    from tests.kedro_runner import PROJECT_ROOT

    run_pipeline("good_image", params={"run_name": "n", "crop_max_emit": "1"}, cwd=project)
    conf = prepare_conf(project)

    def from_crop(params):
        with KedroSession.create(project_path=PROJECT_ROOT, env="smoke", runtime_params=params,
                                 conf_source=str(conf)) as session:
            return session.run(pipeline_names=["good_image"], from_nodes=["pcba.crop.crop_rois"])

    with pytest.raises(RerunConfigError, match=r"day0_crop_resolved \(made by pcba\.crop\.resolve_crop_cookbook\)"):
        from_crop({"run_name": "n", "crop_max_emit": "3"})
    from_crop({"run_name": "n", "crop_max_emit": "1"})  # nothing changed upstream: allowed

    summary = project / "data/dig/runs/n/usd2roi-components/crop_summary.json"
    summary.unlink()
    with KedroSession.create(project_path=PROJECT_ROOT, env="smoke", runtime_params={"run_name": "n",
                             "crop_max_emit": "1"}, conf_source=str(conf)) as session:
        session.run(pipeline_names=["good_image"], only_missing_outputs=True)
    assert json.loads(summary.read_text())["rois"] == 4  # the missing output made again, the same way


def test_new_input_image_recomputes_every_step_and_equals_a_fresh_run(tmp_path):
    from tests.reference_object.conftest import SAMPLES

    dig = tmp_path / "data" / "dig"
    small = {"perspectives": {"views": ["front/eye_level", "side_left/eye_level"]}, "num_prompts": 2,
             "enable_qwen_augmentation": False}
    photo = tmp_path / "my_photo.png"
    image = cv2.imread(str(SAMPLES / "toy_robot.png"), cv2.IMREAD_COLOR)
    cv2.imwrite(str(photo), cv2.flip(image, 1))  # the user's own photo: the sample, mirrored
    before = hashlib.sha256(photo.read_bytes()).hexdigest()

    run_pipeline("reference_object", params={"run_name": "obj", "reference_object": small}, cwd=tmp_path)
    first = run_tree(dig, "obj")
    run_pipeline("reference_object", params={"run_name": "obj", "input_image": str(photo),
                                             "reference_object": small}, cwd=tmp_path)
    run_pipeline("reference_object", params={"run_name": "obj-fresh", "input_image": str(photo),
                                             "reference_object": small}, cwd=tmp_path)
    again = run_tree(dig, "obj")
    assert again == run_tree(dig, "obj-fresh")
    changed = {k.split("/")[0] for k in again if again[k] != first.get(k)}
    assert {"01_white_background.png", "02_perspectives", "04_dataset", "06_yolo_dataset"} <= changed
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before  # the user's photo is never written


def test_an_annotation_setting_reannotates_without_redoing_the_scenes(tmp_path):
    """Steps 1-5 do not read ``annotation``: their files stay as they were (not even rewritten);
    steps 6-7 are made again and the run equals a fresh one with the same setting."""
    dig = tmp_path / "data" / "dig"
    small = {"perspectives": {"views": ["front/eye_level", "side_left/eye_level"]}, "num_prompts": 2}
    changed = {**small, "annotation": {"min_part_area": 400}}
    run_pipeline("reference_object", params={"run_name": "obj", "reference_object": small}, cwd=tmp_path)
    first, first_times = run_tree(dig, "obj"), mtimes(dig / "runs" / "obj")
    run_pipeline("reference_object", params={"run_name": "obj", "reference_object": changed}, cwd=tmp_path)
    run_pipeline("reference_object", params={"run_name": "obj-fresh", "reference_object": changed}, cwd=tmp_path)
    again, times = run_tree(dig, "obj"), mtimes(dig / "runs" / "obj")
    assert again == run_tree(dig, "obj-fresh")
    scene_steps = ("00_", "01_", "02_", "03_", "04_", "05_")
    kept = {k for k in first_times if k.startswith(scene_steps)}
    assert kept and all(times[k] == first_times[k] for k in kept)  # not recomputed, not rewritten
    relabelled = {k for k in again if k.startswith("06_yolo_dataset/") and k.endswith(".txt")
                  and again[k] != first.get(k)}
    assert relabelled  # a 400-pixel minimum part drops the small label parts: the labels did change
