"""Every parameter is checked before a node runs (docs/parameters.md).

The checks run on the project's real configuration (each conf environment, loaded by Kedro's
OmegaConfigLoader with the project's settings), with ``--params`` as ``kedro run`` parses them.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from omegaconf import OmegaConf

from sdg_factory.config_loader import CachingOmegaConfigLoader, _apply_numeric_lists
from sdg_factory.parameter_checks import ParameterError, check_parameters
from sdg_factory.paths import UnsafeNameError, check_distinct
from sdg_factory.pipelines.pcba_crop.nodes import check_material_folders
from sdg_factory.pipelines.scene_generation.nodes import plan_batch
from sdg_factory.settings import CONFIG_LOADER_ARGS
from tests.kedro_runner import PROJECT_ROOT, project_copy, run_pipeline

CONF = PROJECT_ROOT / "conf"
ENVS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "base") + ["base"]


def runtime(*items: str) -> dict:
    """``--params a=1,b.c=x`` as ``kedro run`` turns it into runtime parameters."""
    return OmegaConf.to_container(OmegaConf.from_dotlist(list(items)))


@functools.cache
def env_parameters(env: str) -> dict:
    """The environment's parameters as Kedro's loader resolves them (cached: resolving takes ~1 s)."""
    return OmegaConfigLoader(str(CONF), env=env, **CONFIG_LOADER_ARGS)["parameters"]


def _merge(into: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def check(env: str = "smoke", *items: str) -> None:
    """Check the environment's parameters with ``--params items`` merged in as Kedro merges them."""
    params = runtime(*items)
    merged = _merge(copy.deepcopy(env_parameters(env)), params)
    _apply_numeric_lists(merged, params)  # as the project's loader does (config_loader.py)
    check_parameters(merged, params, CONF, env)


def test_the_cached_merge_is_what_kedro_resolves():
    params = runtime("render_patches=2", "reference_object.num_prompts=7")
    loader = OmegaConfigLoader(str(CONF), env="smoke", runtime_params=params, **CONFIG_LOADER_ARGS)
    assert loader["parameters"] == _merge(copy.deepcopy(env_parameters("smoke")), params)


@pytest.mark.parametrize("env", ENVS)
def test_every_conf_environment_validates(env):
    check(env)


@pytest.mark.parametrize("items,expected", [
    (["render_patches=-3"], r"parameter 'render_patches' = -3 \(from --params\) is invalid: "
                            r".*greater than or equal to 1"),
    (["crop_max_emit=-1"], r"parameter 'crop_max_emit' = -1 \(from --params\) is invalid: "
                           r".*greater than or equal to 1"),
    (["render_patches=abc"], r"parameter 'render_patches' = 'abc' \(from --params\) is invalid: .*valid integer"),
    (["reference_object.num_prompts=true"], r"'reference_object.num_prompts' = True .*not true/false"),
    (["reference_object.split_ratio=1.5"], r"'reference_object.split_ratio' = 1.5 .*less than or equal to 1"),
    (["reference_object.enable_annotation=maybe"], r"'reference_object.enable_annotation' = 'maybe' .*valid boolean"),
    (["texture_defect_day0.backend=difusers"], r"'texture_defect_day0.backend' = 'difusers' "
                                                  r".*unknown anomaly_generation backend 'difusers' "
                                                  r"\(did you mean 'diffusers'\?\)"),
    (["structural_defect.modes.shift.rotate_deg=[8,-8]"], r"rotate_deg must be \[min, max\] with min <= max"),
    (["object_name=mug"], r"--params object_name: no parameter or catalog entry reads this key "
                          r"\(did you mean 'reference_object.object_name'\?\)"),
    (["num_sdg=15"], r"--params num_sdg: .*did you mean 'texture_defect_day0.num_sdg'"),
    (["reference_object.input_image=/x.jpg"], r"only records the runtime key 'input_image'"
                                              r".*--params input_image=<value>"),
    (["use_pretrained_checkpoint=false"], r"use_pretrained_checkpoint: .*--pipeline=texture_defect_day0_finetune"),
    (["image_edit_endpoint=http://host:8000/v1"], r"image_edit_endpoint is used only by the HTTP image-edit backends"
                                                   r".*image_edit_backend is 'classical'"),
    (["dig_url_root=/elsewhere"], r"--params dig_url_root: this value comes from the global 'dig_url_root'"),
    (["reference_object.num_prompt=3"], r"unknown parameter 'reference_object.num_prompt' "
                                        r"\(did you mean 'reference_object.num_prompts'\?\)"),
    (["texture_defect_day0.finetune.mixed_precison=bf16"],
     r"did you mean 'texture_defect_day0.finetune.mixed_precision'"),
    (["scene_generation.archetypes=kitchn"], r"scene_generation.archetypes names \['kitchn'\]"),
    (["anomaly_types_json=IC:glitch"], r"anomaly_types_json: anomaly_types_json names unknown defect type"),
    (["reference_object.scene.editor.backend=openai_image"], r"'reference_object.scene.editor.backend' = "
                                                               r"'openai_image' .*did you mean 'openai_images'"),
    (["reference_object.reference_mask.point=[10,20]"], r"reference_mask.point is used only by "
                                                         r"reference_mask.backend=sam2"),
    (["pcba_restyle.cookbook.guidence=3"], r"unknown parameter 'pcba_restyle.cookbook.guidence' "
                                           r"\(did you mean 'pcba_restyle.cookbook.guidance'\?\)"),
    (["texture_defect_day0.diffusers.strength=3"], r"'texture_defect_day0.diffusers.strength' = 3 .*less than or "
                                                    r"equal to 1"),
    (["board=[1]"], r"parameter 'board' = \[1\] \(from --params\) is invalid: Input should be a valid string or "),
    (["run_name=../../../../escaped"], r"parameter 'run_name' = '../../../../escaped' .*path separator"),
    (["run_name=night run"], r"parameter 'run_name' = 'night run' .*holds ' '.*\(e.g. 'night_run'\)"),
    (["board=."], r"parameter 'board' = '.' .*'.' or '..'"),
])
def test_bad_parameters_are_refused_naming_the_key(items, expected):
    with pytest.raises(ParameterError, match=expected) as error:
        check("smoke", *items)
    assert "nothing was run" in error.value.message


def test_several_problems_come_in_one_message_each_once():
    with pytest.raises(ParameterError) as error:
        check("smoke", "render_patches=-3", "num_sdg=2", "run_name=a/b")
    lines = error.value.message.splitlines()[1:]
    assert len(lines) == 3, lines  # run_name once, not again for reference_object.run_name (its mirror)
    assert any("render_patches" in ln for ln in lines) and any("num_sdg" in ln for ln in lines)


def test_a_misspelt_key_in_a_conf_file_is_refused(tmp_path):
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "smoke" / "parameters_scene_generation.yml").write_text(
        "scene_generation:\n  scenes_per_rum: 3\n")
    loader = OmegaConfigLoader(str(conf), env="smoke", **CONFIG_LOADER_ARGS)
    with pytest.raises(ParameterError, match=r"unknown parameter 'scene_generation.scenes_per_rum' "
                                             r"\(did you mean 'scene_generation.scenes_per_run'\?\)"):
        check_parameters(loader["parameters"], {}, conf, "smoke")


def test_a_backend_registered_by_a_plugin_is_accepted():
    from sdg_factory.backends.text_to_image.base import TEXT_TO_IMAGE

    with pytest.raises(ParameterError, match="unknown text_to_image backend 'my_renderer'"):
        check("smoke", "scene_generation.image.backend=my_renderer")
    TEXT_TO_IMAGE.register("my_renderer")(object)
    try:
        check("smoke", "scene_generation.image.backend=my_renderer")
    finally:
        TEXT_TO_IMAGE.unregister("my_renderer")


def test_several_archetypes_have_a_comma_free_command_line_form():
    from sdg_factory.pipelines.scene_generation.settings import scene_settings

    check("smoke", "scene_generation.archetypes=kitchen;warehouse")
    params = _merge(copy.deepcopy(env_parameters("smoke")), runtime("scene_generation.archetypes=kitchen;warehouse"))
    assert sorted(scene_settings(params["scene_generation"]).archetypes) == ["kitchen", "warehouse"]


def test_numeric_lists_have_a_comma_free_command_line_form():
    params = runtime("defects_export.roi_xyxy_norm=0.1;0.2;0.9;0.8",
                     "reference_object.contrast_range=0.3;0.6", "scene_generation.archetypes=a;b")
    loaded = CachingOmegaConfigLoader(str(CONF), env="smoke", runtime_params=params, **CONFIG_LOADER_ARGS)["parameters"]
    assert loaded["defects_export"]["roi_xyxy_norm"] == [0.1, 0.2, 0.9, 0.8]
    assert loaded["reference_object"]["contrast_range"] == [0.3, 0.6]
    assert loaded["scene_generation"]["archetypes"] == "a;b"  # words: their reader splits them
    check("smoke", "defects_export.roi_xyxy_norm=0.1;0.2;0.9;0.8",
          "reference_object.compression_quality_range=20;30")
    with pytest.raises(ParameterError, match="contrast_range"):
        check("smoke", "reference_object.contrast_range=0.3;x")
    with pytest.raises(ParameterError, match="contrast_range"):
        check("smoke", "reference_object.contrast_range=0.3;0.4;0.5")


def test_runtime_keys_the_catalog_reads_are_accepted():
    check("smoke", "input_image=/data/mug.jpg", "render_dir=/kit/trigger_0000", "defects_infer_config=a.json",
          "reference_object.object_name=mug", "scene_generation.image.backend=diffusers",
          "scene_generation.image.model_path=x")
    check("smoke", "image_edit_backend=nim", "image_edit_endpoint=http://host:8000/v1")


REFUSED_ON_PURPOSE = {"parameters.md", "troubleshooting.md"}  # they show refused forms, as examples


def _documented_params() -> list[tuple[str, str, list[str]]]:
    """Every ``kedro run … --params …`` the README and docs show, as (source, env, items)."""
    found = []
    pages = [p for p in sorted((PROJECT_ROOT / "docs").glob("*.md")) if p.name not in REFUSED_ON_PURPOSE]
    for path in [PROJECT_ROOT / "README.md", *pages]:
        text = path.read_text(encoding="utf-8").replace("\\\n", "")
        for line in text.splitlines():
            line = re.sub(r"<[^<>]*>|…", "x", line)
            for match in re.finditer(r"(kedro run[^`\n|]*?)--params\s+('[^']*'|[^\s`]+)", line):
                value = match.group(2).strip("'`")
                env = re.search(r"--env[ =](\w+)", line)
                value = re.sub(r"\$\([^)]*\)?", "x", value)
                items = [i.strip() for i in value.rstrip(".,)").split(",") if i.strip()]
                if items and all("=" in i for i in items):
                    found.append((f"{path.name}: {match.group(0)}", env.group(1) if env else "local", items))
    return found


DOCUMENTED = _documented_params()


def test_the_documented_params_were_found():
    assert len(DOCUMENTED) > 20
    assert any("reference_object.object_name" in " ".join(items) for _, _, items in DOCUMENTED)


@pytest.mark.parametrize("source,env,items", DOCUMENTED, ids=[s for s, _, _ in DOCUMENTED])
def test_every_documented_params_form_validates(source, env, items):
    check(env, *items)


# --- names that map to one folder ---------------------------------------------------------------

def test_class_dirs_with_a_path_or_two_spellings_of_one_folder_are_refused():
    source = "datasets/pcb/assets/b/day0_crop.yaml"
    with pytest.raises(UnsafeNameError,
                       match=r"class_dirs.capacitor 'a/b' cannot be used as a folder name: .*separator"):
        check_material_folders({"classes": ["capacitor", "resistor"],
                                "class_dirs": {"capacitor": "a/b", "resistor": "a_b"}}, source)
    with pytest.raises(UnsafeNameError, match=r"class_dirs.capacitor = 'Passive' and class_dirs.resistor = 'passive' "
                                              r"name the same folder"):
        check_material_folders({"classes": ["capacitor", "resistor"],
                                "class_dirs": {"capacitor": "Passive", "resistor": "passive"}}, source)
    # two classes sharing one folder under the same name is the documents' own layout
    check_material_folders({"classes": ["capacitor", "resistor"],
                            "class_dirs": {"capacitor": "passive_component", "resistor": "passive_component"}}, source)
    with pytest.raises(UnsafeNameError, match=r"materials\[0\] = 'IC' and materials\[1\] = 'ic'"):
        check_distinct([("materials[0]", "IC"), ("materials[1]", "ic")], "materials")


def test_a_demo_board_class_dirs_collision_is_refused_before_the_run():
    params = runtime("pcba_setup.boards.0603_H100.cookbooks.day0_crop.class_dirs.resistor=Passive_component")
    with pytest.raises(ParameterError, match=r"class_dirs.capacitor = 'passive_component' and "
                                             r"cookbooks.day0_crop.class_dirs.resistor = 'Passive_component'"):
        loader = OmegaConfigLoader(str(CONF), env="smoke", runtime_params=params, **CONFIG_LOADER_ARGS)
        check_parameters(loader["parameters"], params, CONF, "smoke")


def _scene_settings() -> dict:
    loader = OmegaConfigLoader(str(CONF), env="smoke", **CONFIG_LOADER_ARGS)
    return loader["parameters"]["scene_generation"]


def test_a_scene_id_taken_by_another_run_is_an_error_naming_both_runs():
    # the history of a run made when "night run" was silently rewritten to night_run
    history = pd.DataFrame([{"scene_id": "night_run-000", "run_name": "night run", "archetype": "kitchen",
                             "prompt_hash": "h", "prompt_summary": "s", "variation_tags": [],
                             "generated_at": pd.Timestamp("2026-01-01", tz="UTC"), "success": True,
                             "image_backend": "procedural", "prompt_backend": "template", "error": None}])
    settings = {**_scene_settings(), "scenes_per_run": 2}
    with pytest.raises(UnsafeNameError, match=r"scene id 'night_run-000' of run_name 'night_run' is already taken "
                                              r"in the scene history by run_name 'night run'"):
        plan_batch(history, settings, "night_run", 1)
    with pytest.raises(UnsafeNameError,
                       match=r"scene id 'Night_run-000' of run_name 'Night_run' .* by run_name 'night_run'"):
        plan_batch(history.assign(run_name="night_run"), settings, "Night_run", 1)
    with pytest.raises(UnsafeNameError, match=r"run_name 'night run' cannot be used as a folder name"):
        plan_batch(history.iloc[:0], settings, "night run", 1)
    assert len(plan_batch(history, settings, "day_run", 1)["scenes"]) == 2


# --- through Kedro ------------------------------------------------------------------------------

def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_kedro_run_refuses_a_traversing_run_name_before_writing_anything(tmp_path):
    project = project_copy(tmp_path / "project")
    before = _files(tmp_path)
    kedro = Path(sys.executable).with_name("kedro")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"}
    result = subprocess.run([str(kedro), "run", "--env", "smoke", "--pipelines", "pcba_setup",
                             "--params", "run_name=../../../../escaped"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "parameter 'run_name' = '../../../../escaped'" in errors[0], result.stderr
    written = _files(tmp_path) - before
    assert not written, sorted(written)[:5]
    assert not (tmp_path / "escaped").exists() and not Path(project, "..", "..", "escaped").resolve().exists()


def test_a_smoke_run_still_works_with_the_checks(workdir):
    run_pipeline("pcba_setup", env="smoke", params={"run_name": "checked"}, cwd=workdir)
    boards = workdir / "data" / "dig" / "datasets" / "pcb" / "assets"
    assert (boards / "0603_H100" / "spark_lighting.usd").is_file()
    assert (boards / "0603_H100" / "day0_crop.yaml").is_file()


def test_an_in_process_run_with_a_bad_parameter_raises_the_parameter_error(workdir):
    with pytest.raises(ParameterError, match="render_patches"):
        run_pipeline("pcba_setup", env="smoke", params={"render_patches": -3}, cwd=workdir)
    assert not (workdir / "data").exists()


@pytest.mark.parametrize("item,expected", [
    ("reference_object.annotation.grabcut_margn=0.5",
     r"'reference_object.annotation' is invalid: unknown key\(s\) 'grabcut_margn' \(did you mean 'grabcut_margin'\?\)"),
    ("reference_object.annotation.sam2.chekpoint=x", r"'chekpoint' \(did you mean 'checkpoint'\?\) in "
                                                    r"'reference_object.annotation.sam2'"),
    ("reference_object.reference_mask.sam2.chekpoint=x", r"'chekpoint' \(did you mean 'checkpoint'\?\) in "
                                                        r"'reference_object.reference_mask.sam2'"),
    ("reference_object.perspectives.classical.fil=0.5", r"'fil' \(did you mean 'fill'\?\) in "
                                                        r"'reference_object.perspectives.classical'"),
    # a backend that is not chosen: as wrong, and found before the day it is switched on
    ("reference_object.perspectives.zero123.model_pth=x", r"'model_pth' \(did you mean 'model_path'\?\)"),
    ("reference_object.white_background.editor.feathr=2",
     r"'reference_object.white_background.editor' is invalid: unknown key\(s\) 'feathr' \(did you mean 'feather'"),
    ("reference_object.prompts.openai_chat.modl=x", r"'modl' \(did you mean 'model'\?\) in "
                                                    r"'reference_object.prompts.openai_chat'"),
    ("scene_generation.image.widht=5", r"'widht' \(did you mean 'width'\?\) in 'scene_generation.image'"),
    ("scene_generation.prompts.max_attemps=3", r"'max_attemps' \(did you mean 'max_attempts'\?\)"),
    ("anomaly_detection.detector.patch_stats.gird=3", r"'gird' \(did you mean 'grid'\?\) in "
                                                      r"'anomaly_detection.detector'"),
    ("anomaly_detection.detector.pyimgano.modl=x", r"'modl' \(did you mean 'model'\?\) in "
                                                   r"'anomaly_detection.detector.pyimgano'"),
    ("defects_infer.detectors.golden_template.max_shift=3", r"'max_shift' \(did you mean 'max_shift_px'\?\) in "
                                                            r"'defects_infer.detectors.golden_template'"),
    ("pcba_restyle.backends.classical.styl=1",
     r"'styl' \(did you mean 'style'\?\) in 'pcba_restyle.backends.classical'"),
    ("pcba_restyle.backends.classical.style.gama=0.9", r"pcba_restyle.backends.classical.style: unknown key\(s\) "
                                                       r"'gama' \(did you mean 'gamma'\?\)"),
])
def test_a_backends_misspelt_key_is_refused_before_any_node_runs(item, expected):
    """A backend's own keys are its constructor's: checked by the registry when the run starts,
    as the node's build would check them, not after the steps before it have written."""
    with pytest.raises(ParameterError, match=expected):
        check("base", item)


@pytest.mark.parametrize("items", [
    ["reference_object.annotation.grabcut_margin=0.5", "reference_object.annotation.grabcut_iterations=2"],
    ["anomaly_detection.detector.grid=32"],  # flat settings of the chosen backend
    ["anomaly_detection.detector.backend=pyimgano", "anomaly_detection.detector.pyimgano.model=x"],
    ["scene_generation.image.backend=openai_images", "scene_generation.image.model=gpt-image-1"],
])
def test_a_backends_own_keys_are_accepted(items):
    check("base", *items)
