"""One Registry for every backend kind, and the accelerator's one dtype rule and scoped caches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sdg_factory.backends.accelerator import ModelCache, model_caches, torch_dtype, unload_models
from sdg_factory.backends.annotation.base import ANNOTATORS
from sdg_factory.backends.anomaly_detection.base import ANOMALY_DETECTORS
from sdg_factory.backends.anomaly_generation.base import ANOMALY_GENERATORS
from sdg_factory.backends.image_edit.base import IMAGE_EDITORS
from sdg_factory.backends.perspectives.base import PERSPECTIVE_GENERATORS
from sdg_factory.backends.registry import Registry
from sdg_factory.backends.text.base import TEXT_GENERATORS
from sdg_factory.backends.text_to_image.base import TEXT_TO_IMAGE

SRC = Path(__file__).resolve().parents[2] / "src"
ALL = (IMAGE_EDITORS, TEXT_GENERATORS, TEXT_TO_IMAGE, PERSPECTIVE_GENERATORS, ANNOTATORS, ANOMALY_GENERATORS,
       ANOMALY_DETECTORS)


def test_every_kind_is_one_registry_whose_table_imports():
    for registry in ALL:
        assert isinstance(registry, Registry)
        for name in registry.builtin():
            assert callable(registry.factory(name)), (registry.kind, name)


def test_building_the_cpu_default_imports_its_module_only():
    code = ("import sys\nfrom sdg_factory.backends.image_edit import IMAGE_EDITORS\n"
            "from sdg_factory.backends.text_to_image import TEXT_TO_IMAGE\n"
            "from sdg_factory.backends.anomaly_generation import ANOMALY_GENERATORS\n"
            "IMAGE_EDITORS.build_from({'backend': 'classical'}); TEXT_TO_IMAGE.build_from({'backend': 'procedural'})\n"
            "ANOMALY_GENERATORS.build('procedural')\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'transformers', "
            "'ultralytics', 'sam2', 'peft', 'pyimgano') or m.endswith(('.endpoints', '.diffusers_local', "
            "'.diffusers_inpaint', '.gemini', '.openai_images'))]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC), "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_one_error_style_for_an_unknown_backend_with_the_closest_name():
    with pytest.raises(ValueError, match=r"unknown image-edit backend 'openai_image' \(parameter 'backend'\); "
                                         r"did you mean 'openai_images'\? choose one of \["):
        IMAGE_EDITORS.build_from({"backend": "openai_image"})
    with pytest.raises(ValueError, match=r"unknown text-to-image backend 'procedual' .*did you mean 'procedural'"):
        TEXT_TO_IMAGE.build_from({"backend": "procedual"})
    with pytest.raises(ValueError, match=r"unknown anomaly-generation backend 'difusers' "
                                         r"\(parameter 'texture_defect_day0.backend'\); did you mean 'diffusers'"):
        ANOMALY_GENERATORS.build("difusers")


def test_settings_keys_are_checked_even_through_kwargs_and_for_former_catch_alls():
    # an HTTP editor forwards **kwargs to its base class: the base's keys are the accepted ones
    with pytest.raises(ValueError, match=r"'timeout' \(did you mean 'timeout_s'\?\) in 'image edit openai_images'"):
        IMAGE_EDITORS.build_from({"backend": "openai_images", "endpoint": "http://127.0.0.1:9/v1", "timeout": 3})
    # the procedural generators took **_ and dropped anything: now a misspelt key is an error
    with pytest.raises(ValueError, match=r"'resolutoin' in 'texture_defect_day0.procedural'; it accepts: no settings"):
        ANOMALY_GENERATORS.build("procedural", {"resolutoin": 512})
    with pytest.raises(ValueError, match=r"'model_path' in 'scene_generation.image'"):
        TEXT_TO_IMAGE.build_from({"backend": "procedural", "model_path": "x"})
    # the one dtype key: torch_dtype is refused with the hint
    with pytest.raises(ValueError, match=r"'torch_dtype' \(did you mean 'dtype'\?\)"):
        TEXT_TO_IMAGE.build_from({"backend": "diffusers", "model_path": "x", "torch_dtype": "bfloat16"})


def test_settings_flat_or_in_the_backends_own_sub_section():
    style = {"gamma": 0.8}
    flat = IMAGE_EDITORS.build_from({"backend": "classical", "style": style})
    nested = IMAGE_EDITORS.build_from({"backend": "classical", "classical": {"style": style},
                                       "diffusers": {"model_path": "only/for/diffusers"}})
    assert flat.options == nested.options == {"style": style}
    assert TEXT_TO_IMAGE.build_from({"backend": "procedural", "diffusers": {"model_path": "m"}}).name == "procedural"


def test_a_registered_backend_builds_and_unregisters():
    @TEXT_TO_IMAGE.register("test_registry_dummy")
    class Dummy:
        name = "test_registry_dummy"

        def __init__(self, colour: str = "red") -> None:
            self.colour = colour

    try:
        assert TEXT_TO_IMAGE.build_from({"backend": "test_registry_dummy", "colour": "blue"}).colour == "blue"
        with pytest.raises(ValueError, match=r"'color' \(did you mean 'colour'\?\)"):
            TEXT_TO_IMAGE.build_from({"backend": "test_registry_dummy", "color": "blue"})
    finally:
        TEXT_TO_IMAGE.unregister("test_registry_dummy")
    assert "test_registry_dummy" not in TEXT_TO_IMAGE


def test_one_dtype_rule():
    torch = pytest.importorskip("torch")
    for name in ("auto", "float16", "bfloat16", "float32", None):
        assert torch_dtype(name, "cpu") == torch.float32  # half precision never runs on the CPU
    assert torch_dtype("auto", "mps") == torch.float16
    assert torch_dtype("float32", "cuda:1") == torch.float32
    with pytest.raises(ValueError, match="scene_generation.image.dtype 'fp8' is not one of auto"):
        torch_dtype("fp8", "cpu", "scene_generation.image.dtype")


def test_model_caches_are_named_and_unloaded_by_scope():
    from sdg_factory.hooks import ModelMemoryHooks

    step, run = ModelCache("test.step_cache", scope="step"), ModelCache("test.run_cache", scope="run")
    step.get(("a",), object)
    run.get(("b",), object)
    assert step in model_caches("step") and run in model_caches("run")
    ModelMemoryHooks().after_dataset_saved("some_dataset", {}, node=None)
    assert len(step) == 0 and len(run) == 1  # a run cache outlives a step
    step.get(("a",), object)
    dropped = unload_models("run")  # the end of a run empties the step caches too
    assert dropped["test.step_cache"] == 1 and dropped["test.run_cache"] == 1
    run.get(("b",), object)
    ModelMemoryHooks().after_pipeline_run({}, None, None)
    assert len(run) == 0
    with pytest.raises(ValueError, match="scope 'forever'"):
        ModelCache("test.bad", scope="forever")
